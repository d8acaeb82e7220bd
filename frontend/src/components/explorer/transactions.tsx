import { useQuery } from '@tanstack/react-query'
import { ArrowRightLeft, ChevronRight, Fuel } from 'lucide-react'
import { useEffect, useRef, useState } from 'react'
import { api } from '../../lib/api'
import { eventTone } from '../../lib/chain-format'
import { cn } from '../../lib/cn'
import { shortHex } from '../../lib/numbers'
import { keys } from '../../lib/query-keys'
import type { ChainTransaction } from '../../lib/types'
import { Badge } from '../ui/badge'
import { Button } from '../ui/button'
import { Card, CardBody, CardHeader } from '../ui/card'
import { HashText } from '../ui/hash-link'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'
import { EventArgs } from './event-args'
import { TxLookup } from './tx-lookup'

const PAGE = 15

function eventCounts(tx: ChainTransaction): string {
  const counts = new Map<string, number>()
  for (const e of tx.events) counts.set(e.name, (counts.get(e.name) ?? 0) + 1)
  return [...counts].map(([name, n]) => (n > 1 ? `${n} × ${name}` : name)).join(' · ')
}

function TransactionCard({ tx, highlighted }: { tx: ChainTransaction; highlighted: boolean }) {
  const ref = useRef<HTMLLIElement>(null)
  useEffect(() => {
    if (!highlighted) return
    const reduced = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches
    ref.current?.scrollIntoView({ block: 'center', behavior: reduced ? 'auto' : 'smooth' })
    ref.current?.focus({ preventScroll: true })
  }, [highlighted])
  // Staking contract events first (what the round did), the token's mint transfers after.
  const events = [...tx.events].sort((a, b) => Number(a.contract !== 'FedShieldStaking') - Number(b.contract !== 'FedShieldStaking') || a.log_index - b.log_index)
  return (
    <li
      ref={ref}
      tabIndex={highlighted ? -1 : undefined}
      id={`tx-${tx.hash}`}
      data-tx={tx.hash}
      data-highlighted={highlighted || undefined}
      aria-current={highlighted ? 'true' : undefined}
      className={cn('rounded-xl border outline-none', highlighted ? 'glow-live border-accent/60 bg-accent/5' : 'border-line/70 bg-surface-2/50')}
    >
      <details open={highlighted} className="group">
        <summary className="flex cursor-pointer list-none flex-wrap items-center gap-x-4 gap-y-1 rounded-xl p-4 text-sm hover:bg-surface-3/40 [&::-webkit-details-marker]:hidden">
          <ChevronRight className="size-4 text-faint transition-transform group-open:rotate-90" aria-hidden />
          <span className="font-mono font-semibold text-fg" title={tx.hash}>
            {shortHex(tx.hash, 10, 8)}
          </span>
          {highlighted && <Badge tone="accent">linked</Badge>}
          {tx.experiment_id != null && (
            <span className="text-muted">
              experiment #{tx.experiment_id}
              {tx.round != null ? ` · round ${tx.round}` : ''}
            </span>
          )}
          <span className="text-muted">
            block <span className="tabular font-mono text-fg">{tx.block_number}</span>
          </span>
          <span className="inline-flex items-center gap-1 text-muted">
            <Fuel className="size-3.5" aria-hidden /> <span className="tabular font-mono">{tx.gas_used.toLocaleString('en-US')}</span> gas
          </span>
          <span className="basis-full pl-8 text-xs text-faint">{eventCounts(tx)}</span>
        </summary>
        <div className="space-y-1.5 px-4 pb-4">
          <p className="flex items-center gap-1 text-xs text-muted">
            hash <HashText value={tx.hash} />
          </p>
          <ol className="divide-y divide-line/40 rounded-lg bg-surface/60">
            {events.map((e) => (
              <li key={e.log_index} className="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2" data-event={e.name}>
                <Badge tone={eventTone(e.name)}>{e.name}</Badge>
                <EventArgs event={e.name} args={e.args} />
                <span className="ml-auto text-[11px] text-faint">
                  {e.contract} · log {e.log_index}
                </span>
              </li>
            ))}
          </ol>
        </div>
      </details>
    </li>
  )
}

/** Settlement transactions with their decoded events; a linked one is highlighted and scrolled to. */
export function Transactions({
  experimentId,
  wallet,
  highlight,
}: {
  experimentId: number | null
  wallet: string | null
  highlight: string | null
}) {
  const filter = { experiment_id: experimentId, wallet }
  const txs = useQuery({ queryKey: keys.transactions(filter), queryFn: ({ signal }) => api.transactions(filter, signal) })
  const all = [...(txs.data ?? [])].sort((a, b) => b.block_number - a.block_number)
  const wanted = highlight?.toLowerCase() ?? null
  const at = wanted ? all.findIndex((t) => t.hash.toLowerCase() === wanted) : -1
  const found = !wanted || at >= 0
  const [limit, setLimit] = useState(PAGE)
  // A linked transaction is always shown, however far down the list it is.
  const list = all.slice(0, Math.max(limit, at + 1))
  return (
    <Card aria-labelledby="txs-title">
      <CardHeader
        id="txs-title"
        icon={<ArrowRightLeft />}
        title="Transactions"
        description={`Settlements with decoded events${experimentId !== null ? ` · experiment #${experimentId}` : ''}${wallet ? ` · touching ${wallet.slice(0, 10)}…` : ''}`}
      />
      <CardBody className="space-y-3">
        {wanted && !found && !txs.isPending && <TxLookup hash={wanted as `0x${string}`} />}
        {txs.isError ? (
          <ErrorState error={txs.error} title="Could not read transactions" onRetry={() => void txs.refetch()} />
        ) : txs.isPending ? (
          <LoadingState rows={5} />
        ) : !list.length ? (
          <EmptyState title="No settlement transactions yet">They appear as rounds are settled on chain.</EmptyState>
        ) : (
          <ul className="space-y-3">
            {list.map((tx) => (
              <TransactionCard key={tx.hash} tx={tx} highlighted={tx.hash.toLowerCase() === wanted} />
            ))}
          </ul>
        )}
        {all.length > list.length && (
          <Button variant="ghost" size="sm" onClick={() => setLimit((n) => n + PAGE)}>
            Show {Math.min(PAGE, all.length - list.length)} older of {all.length - list.length}
          </Button>
        )}
      </CardBody>
    </Card>
  )
}
