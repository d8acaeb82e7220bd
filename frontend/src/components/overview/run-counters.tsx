import { Coins, Flame, ShieldCheck, ShieldMinus, ShieldX, Users } from 'lucide-react'
import type { ReactNode } from 'react'
import type { RunCounters as Counters } from '../../lib/chart-data'
import { formatFlt } from '../../lib/flt'
import { cn } from '../../lib/cn'

function Counter({ label, value, icon, tone, testId }: { label: string; value: ReactNode; icon: ReactNode; tone: string; testId: string }) {
  return (
    <div className="glass grid grid-cols-[auto_minmax(0,1fr)] items-center gap-x-3 rounded-2xl px-4 py-3.5">
      <dt className="contents">
        <span className={cn('row-span-2 grid size-10 shrink-0 place-items-center rounded-xl ring-1 [&_svg]:size-5', tone)} aria-hidden>
          {icon}
        </span>
        <span className="text-xs text-muted">{label}</span>
      </dt>
      <dd className="tabular col-start-2 truncate font-mono text-xl font-semibold text-fg" data-testid={testId}>
        {value}
      </dd>
    </div>
  )
}

/** Nodes, updates by outcome and FLT moved over the run. */
export function RunCounters({ counters }: { counters: Counters | null }) {
  const dash = '—'
  return (
    <dl className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
      <Counter testId="count-nodes" label="Nodes" value={counters?.nodes ?? dash} icon={<Users />} tone="bg-info/12 ring-info/30 text-info" />
      <Counter testId="count-accepted" label="Updates accepted" value={counters?.accepted ?? dash} icon={<ShieldCheck />} tone="bg-ok/12 ring-ok/30 text-ok" />
      <Counter
        testId="count-excluded"
        label="Excluded, not slashed"
        value={counters?.excluded ?? dash}
        icon={<ShieldMinus />}
        tone="bg-warn/12 ring-warn/30 text-warn"
      />
      <Counter testId="count-slashed-updates" label="Updates slashed" value={counters?.slashed ?? dash} icon={<ShieldX />} tone="bg-bad/12 ring-bad/30 text-bad" />
      <Counter
        testId="count-rewarded"
        label="FLT rewarded"
        value={counters ? formatFlt(counters.rewardedWei, { unit: false }) : dash}
        icon={<Coins />}
        tone="bg-accent/12 ring-accent/30 text-accent"
      />
      <Counter
        testId="count-slashed"
        label="FLT slashed"
        value={counters ? formatFlt(counters.slashedWei, { unit: false }) : dash}
        icon={<Flame />}
        tone="bg-bad/12 ring-bad/30 text-bad"
      />
    </dl>
  )
}
