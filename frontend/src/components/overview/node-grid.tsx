import { CircleDashed, Network, Skull } from 'lucide-react'
import { useEffect, useMemo, useRef, useState } from 'react'
import type { Address } from 'viem'
import { cn } from '../../lib/cn'
import { formatFlt, formatFltText } from '../../lib/flt'
import { explorerWalletHref } from '../../lib/log-format'
import { shortHex } from '../../lib/numbers'
import { nodeOutcomes, OUTCOME_META, verdictOutcome } from '../../lib/outcomes'
import type { Node } from '../../lib/types'
import { useDeployment } from '../../lib/deployment'
import { type ChainHoldings, useChainHoldings } from '../../lib/use-node-chain-state'
import { Badge } from '../ui/badge'
import { Card, CardBody, CardHeader } from '../ui/card'
import { OUTCOME_ICON, OUTCOME_TEXT, OutcomeCountList } from '../ui/outcome-badge'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'

/** The last change of an amount, shown for a few seconds as "+10 FLT" next to it. */
function useDelta(value: bigint | null): bigint | null {
  const previous = useRef<bigint | null>(value)
  const [delta, setDelta] = useState<bigint | null>(null)
  useEffect(() => {
    if (value !== null && previous.current !== null && value !== previous.current) {
      setDelta(value - previous.current)
      const timer = setTimeout(() => setDelta(null), 6000)
      previous.current = value
      return () => clearTimeout(timer)
    }
    previous.current = value
  }, [value])
  return delta
}

function Amount({ label, wei, fallback, testId }: { label: string; wei: bigint | null; fallback: string | null; testId: string }) {
  const delta = useDelta(wei)
  return (
    <div className="min-w-0">
      <dt className="text-[11px] tracking-wide text-faint uppercase">{label}</dt>
      <dd className="flex flex-wrap items-baseline gap-x-1.5">
        <span className="tabular font-mono text-sm font-semibold text-fg" data-testid={testId} data-wei={wei?.toString()}>
          {wei !== null ? formatFlt(wei) : formatFltText(fallback)}
        </span>
        {delta !== null && (
          <span className={cn('tabular animate-fade-in font-mono text-xs font-semibold', delta > 0n ? 'text-ok' : 'text-bad')}>
            {formatFlt(delta, { signed: true })}
          </span>
        )}
      </dd>
    </div>
  )
}

function LastOutcome({ node }: { node: Node }) {
  const verdict = node.last_verdict
  if (!verdict) {
    return (
      <p className="flex items-center gap-1.5 text-sm text-faint" data-verdict="none">
        <CircleDashed className="size-4" aria-hidden /> No verdict yet
      </p>
    )
  }
  const outcome = verdictOutcome(verdict)
  const meta = OUTCOME_META[outcome]
  const Icon = OUTCOME_ICON[outcome]
  return (
    <div data-verdict={outcome}>
      <p className={cn('flex items-center gap-1.5 text-sm font-medium', OUTCOME_TEXT[outcome])}>
        <Icon className="size-4 shrink-0" aria-hidden />
        {meta.label} <span className="font-normal text-muted">· round {verdict.round}</span>
      </p>
      {outcome !== 'accepted' && (
        <p className="mt-0.5 text-xs break-words text-muted">
          <span className={OUTCOME_TEXT[outcome]}>{meta.meaning}</span>
          {' · '}
          {verdict.rule && <span className="font-mono text-faint">{verdict.rule}: </span>}
          {verdict.reason ?? 'no reason given'}
        </p>
      )}
    </div>
  )
}

export function NodeCard({ node, chain }: { node: Node; chain: ChainHoldings | undefined }) {
  const last = node.last_verdict ? verdictOutcome(node.last_verdict) : null
  const stake = chain?.stake ?? null
  return (
    <li
      className={cn('glass rounded-xl p-4 transition-shadow', last === 'slashed' && 'glow-bad', last === 'excluded' && 'ring-1 ring-warn/40')}
      data-node={node.address}
      aria-label={`Node ${node.label}`}
    >
      <div className="flex items-start justify-between gap-2">
        <div className="min-w-0">
          <p className="truncate font-semibold text-fg">{node.label}</p>
          <a href={explorerWalletHref(node.address)} className="font-mono text-xs text-muted hover:text-fg hover:underline" title={node.address}>
            {shortHex(node.address)}
          </a>
        </div>
        <div className="flex flex-col items-end gap-1">
          {node.malicious && (
            <Badge tone="warn" title="Configured to attack in this simulation">
              <Skull aria-hidden /> attacker
            </Badge>
          )}
          {!node.eligible && <Badge tone="neutral">not eligible</Badge>}
        </div>
      </div>
      <div className="mt-3 min-h-[2.75rem]">
        <LastOutcome node={node} />
      </div>
      <OutcomeCountList counts={nodeOutcomes(node)} className="mt-2" label={`Rounds of ${node.label} by outcome`} />
      <dl className="mt-3 grid grid-cols-2 gap-2 border-t border-line/60 pt-3">
        <Amount label="Balance now" wei={chain?.balance ?? null} fallback={node.balance_flt} testId="node-balance" />
        <Amount label="Stake now" wei={stake} fallback={node.stake_flt} testId="node-stake" />
      </dl>
      {/* Balance and stake are the chain's today; what this experiment paid and took stays beside them, so an
          old experiment is not read through today's balances. */}
      <p className="mt-2 flex flex-wrap gap-x-3 text-xs text-faint" title="Settled in this experiment's rounds">
        <span>this experiment:</span>
        <span>
          earned <span className="tabular font-mono text-ok">{formatFltText(node.rewarded_flt)}</span>
        </span>
        <span>
          slashed <span className="tabular font-mono text-bad">{formatFltText(node.slashed_flt)}</span>
        </span>
        {stake === 0n && <span className="text-warn">no stake left</span>}
      </p>
    </li>
  )
}

/** node-2 before node-10: slot order when known, else natural label order. */
function byLabel(a: Node, b: Node): number {
  if (a.slot != null && b.slot != null) return a.slot - b.slot
  return a.label.localeCompare(b.label, undefined, { numeric: true })
}

/** Every node of the run: its rounds by outcome, its last outcome and why, and its FLT as the chain has them. */
export function NodeGrid({
  nodes,
  isPending,
  error,
  onRetry,
}: {
  nodes: readonly Node[] | undefined
  isPending: boolean
  error: unknown
  onRetry: () => void
}) {
  const addresses = useMemo(() => (nodes ?? []).map((n) => n.address as Address), [nodes])
  const chain = useChainHoldings(addresses)
  const { status } = useDeployment()
  return (
    <Card aria-labelledby="nodes-title">
      <CardHeader
        id="nodes-title"
        icon={<Network />}
        title="Nodes"
        description={
          status === 'ready'
            ? chain.error
              ? 'Chain unreachable: showing the orchestrator’s last known amounts.'
              : 'Balances and stakes read from the chain, refreshed each block.'
            : 'Amounts from the orchestrator (no chain deployment).'
        }
      />
      <CardBody>
        {error ? (
          <ErrorState error={error} title="Could not load the nodes" onRetry={onRetry} />
        ) : isPending ? (
          <LoadingState rows={4} label="Loading nodes…" />
        ) : !nodes?.length ? (
          <EmptyState title="No nodes in this experiment yet">Nodes join when the experiment starts.</EmptyState>
        ) : (
          <ul className="grid grid-cols-1 gap-3 sm:grid-cols-2 xl:grid-cols-3 2xl:grid-cols-4">
            {[...nodes].sort(byLabel).map((node) => (
              <NodeCard key={node.address} node={node} chain={chain.holdings.get(node.address.toLowerCase())} />
            ))}
          </ul>
        )}
      </CardBody>
    </Card>
  )
}
