import { BadgeCheck, Clock, Coins, Lock, ShieldOff } from 'lucide-react'
import type { ReactNode } from 'react'
import { formatFlt } from '../../lib/flt'
import { useNow } from '../../lib/hooks'
import { formatDateTime, formatDuration } from '../../lib/numbers'
import type { WalletChainState } from '../../lib/use-wallet-state'
import { Card, CardBody, CardHeader } from '../ui/card'
import { ErrorState, LoadingState } from '../ui/states'

function Stat({ label, value, icon, detail, testId }: { label: string; value: ReactNode; icon: ReactNode; detail?: ReactNode; testId: string }) {
  return (
    <div className="rounded-xl border border-line/70 bg-surface-2/70 p-4">
      <dt className="flex items-center gap-1.5 text-xs text-muted [&_svg]:size-3.5">
        <span aria-hidden>{icon}</span>
        {label}
      </dt>
      <dd className="tabular mt-1 font-mono text-2xl font-semibold text-fg" data-testid={testId}>
        {value}
      </dd>
      {detail && <dd className="mt-0.5 text-xs text-faint">{detail}</dd>}
    </div>
  )
}

/** Balance, stake, pending withdrawal with its unlock time, and eligibility, as the chain has them. */
export function WalletStatus({ state, isPending, error, onRetry }: { state: WalletChainState | null; isPending: boolean; error: unknown; onRetry: () => void }) {
  const now = useNow(1000) / 1000
  return (
    <Card aria-labelledby="position-title">
      <CardHeader id="position-title" icon={<Coins />} title="Your position" description="Read from the chain, refreshed each block." />
      <CardBody>
        {error ? (
          <ErrorState error={error} title="Could not read the chain" onRetry={onRetry} />
        ) : isPending || !state ? (
          <LoadingState rows={4} label="Reading the chain…" />
        ) : (
          <dl className="grid gap-3 sm:grid-cols-2 xl:grid-cols-4">
            <Stat testId="wallet-balance" label="FLT balance" value={formatFlt(state.balance)} icon={<Coins />} detail={`allowance ${formatFlt(state.allowance)}`} />
            <Stat testId="wallet-stake" label="Staked" value={formatFlt(state.stake)} icon={<Lock />} detail={`minimum ${formatFlt(state.minStake)}`} />
            <Stat
              testId="wallet-pending"
              label="Pending withdrawal"
              value={formatFlt(state.pending)}
              icon={<Clock />}
              detail={
                state.pending === 0n
                  ? `cooldown ${formatDuration(state.cooldown * 1000)}`
                  : state.unlockAt <= now
                    ? 'unlocked: withdraw now'
                    : `unlocks ${formatDateTime(state.unlockAt)} (in ${formatDuration((state.unlockAt - now) * 1000)})`
              }
            />
            <Stat
              testId="wallet-eligible"
              label="Eligibility"
              value={
                state.eligible ? (
                  <span className="flex items-center gap-2 text-ok">
                    <BadgeCheck className="size-6" aria-hidden /> Eligible
                  </span>
                ) : (
                  <span className="flex items-center gap-2 text-warn">
                    <ShieldOff className="size-6" aria-hidden /> Not eligible
                  </span>
                )
              }
              icon={<BadgeCheck />}
              detail={state.eligible ? 'can take part in rounds' : `stake at least ${formatFlt(state.minStake)}`}
            />
          </dl>
        )}
      </CardBody>
    </Card>
  )
}
