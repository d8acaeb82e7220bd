import { useQuery } from '@tanstack/react-query'
import { Skull } from 'lucide-react'
import { api } from '../../lib/api'
import { explorerWalletHref } from '../../lib/log-format'
import { countVerdicts, OUTCOME_META, sortVerdicts, verdictOutcome } from '../../lib/outcomes'
import { keys } from '../../lib/query-keys'
import { Badge } from '../ui/badge'
import { HashText } from '../ui/hash-link'
import { OutcomeBadge, OutcomeCountList } from '../ui/outcome-badge'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'

/**
 * One settled round's verdicts: each node's outcome and why. Each verdict is a leaf of the round's results root,
 * and the leaf records the outcome, so a Merkle proof shows which of the three a node got.
 */
export function RoundVerdicts({ experimentId, round, resultsRoot }: { experimentId: number; round: number; resultsRoot: string }) {
  const verdicts = useQuery({
    queryKey: keys.verdicts(experimentId, round),
    queryFn: ({ signal }) => api.verdicts(experimentId, round, signal),
    staleTime: 60_000,
  })
  if (verdicts.isError) return <ErrorState error={verdicts.error} title="Could not load this round’s verdicts" onRetry={() => void verdicts.refetch()} />
  if (verdicts.isPending) return <LoadingState rows={3} label="Loading verdicts…" />
  if (!verdicts.data.length) return <EmptyState title="No verdicts recorded for this round" />
  const list = sortVerdicts(verdicts.data)
  return (
    <div className="space-y-3" data-round-verdicts={`${experimentId}:${round}`}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <OutcomeCountList counts={countVerdicts(list)} label={`Verdicts of round ${round} by outcome`} className="text-sm" />
        <p className="flex items-center gap-1 text-xs text-muted">
          results root <HashText value={resultsRoot} />
        </p>
      </div>
      <p className="text-xs text-faint">
        Each verdict below is one leaf of the results root, recording the node, its outcome (accepted, excluded or slashed) and
        the rule that decided it.
      </p>
      <ul className="divide-y divide-line/40 rounded-lg bg-surface/60" aria-label={`Verdicts of round ${round}`}>
        {list.map((v) => {
          const outcome = verdictOutcome(v)
          return (
            <li key={v.node_address} className="flex flex-wrap items-start gap-x-3 gap-y-1 px-3 py-2 text-sm" data-verdict={outcome} data-node={v.node_address}>
              <OutcomeBadge outcome={outcome} />
              <a href={explorerWalletHref(v.node_address)} className="font-medium text-fg hover:underline" title={v.node_address}>
                {v.node_label}
              </a>
              {v.malicious && (
                <Badge tone="warn" title="Configured to attack in this simulation">
                  <Skull aria-hidden /> attacker
                </Badge>
              )}
              <span className="min-w-0 flex-1 basis-60 text-xs break-words text-muted">
                {outcome === 'accepted' ? (
                  OUTCOME_META.accepted.meaning
                ) : (
                  <>
                    {OUTCOME_META[outcome].meaning} · {v.rule && <span className="font-mono text-faint">{v.rule}: </span>}
                    {v.reason ?? 'no reason given'}
                  </>
                )}
              </span>
            </li>
          )
        })}
      </ul>
    </div>
  )
}
