import { useQueries, useQuery } from '@tanstack/react-query'
import { ChevronRight, CircleHelp, Download, Layers, ShieldCheck, ShieldX } from 'lucide-react'
import { Fragment, useMemo, useState } from 'react'
import { api, modelUrl } from '../../lib/api'
import { cn } from '../../lib/cn'
import { explorerTxHref } from '../../lib/log-format'
import { type OutcomeCounts, roundOutcomes } from '../../lib/outcomes'
import { keys } from '../../lib/query-keys'
import type { ChainRound } from '../../lib/types'
import { Badge } from '../ui/badge'
import { Button } from '../ui/button'
import { Card, CardBody, CardHeader } from '../ui/card'
import { HashText } from '../ui/hash-link'
import { OutcomeCountList } from '../ui/outcome-badge'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'
import { RoundVerdicts } from './round-verdicts'

function Match({ matches }: { matches: boolean | null }) {
  if (matches === null)
    return (
      <Badge tone="neutral">
        <CircleHelp aria-hidden /> not recorded here
      </Badge>
    )
  return matches ? (
    <Badge tone="ok">
      <ShieldCheck aria-hidden /> matches
    </Badge>
  ) : (
    <Badge tone="bad">
      <ShieldX aria-hidden /> mismatch
    </Badge>
  )
}

/** The outcome counts of each shown round, from its experiment's rounds (shared with the Overview's cache). */
function useRoundOutcomes(rows: readonly ChainRound[]): Map<string, OutcomeCounts> {
  const ids = useMemo(() => [...new Set(rows.flatMap((r) => (r.experiment_id !== null ? [r.experiment_id] : [])))], [rows])
  const results = useQueries({
    queries: ids.map((id) => ({
      queryKey: keys.rounds(id),
      queryFn: ({ signal }: { signal: AbortSignal }) => api.rounds(id, signal),
      staleTime: 30_000,
    })),
  })
  const map = new Map<string, OutcomeCounts>()
  ids.forEach((id, i) => {
    for (const r of results[i]?.data ?? []) map.set(`${id}:${r.round}`, roundOutcomes(r))
  })
  return map
}

const roundKey = (r: ChainRound) => (r.experiment_id !== null && r.round != null ? `${r.experiment_id}:${r.round}` : null)

/** Rounds settled on chain: the model hash recorded, whether the downloadable model hashes to it, and each node's outcome. */
export function ChainRounds() {
  const rounds = useQuery({ queryKey: keys.chainRounds, queryFn: ({ signal }) => api.chainRounds(signal) })
  const [showAll, setShowAll] = useState(false)
  const [open, setOpen] = useState<number | null>(null)
  const all = [...(rounds.data ?? [])].sort((a, b) => b.round_id - a.round_id)
  const rows = showAll ? all : all.slice(0, 5)
  const outcomes = useRoundOutcomes(rows)
  return (
    <Card aria-labelledby="chain-rounds-title">
      <CardHeader
        id="chain-rounds-title"
        icon={<Layers />}
        title="Rounds settled on chain"
        description="Each global model's keccak256 and the round's results root are written on chain; open a round for each node's outcome."
      />
      <CardBody>
        {rounds.isError ? (
          <ErrorState error={rounds.error} title="Could not read settled rounds" onRetry={() => void rounds.refetch()} />
        ) : rounds.isPending ? (
          <LoadingState rows={4} />
        ) : !rows.length ? (
          <EmptyState title="No round settled yet">The first settlement appears here when a round closes.</EmptyState>
        ) : (
          <div className="relative -mx-5 overflow-x-auto px-5">
            {/* relative: the scroll box also holds the cells' absolutely placed parts, so none widens the page */}
            <table className="w-full min-w-[52rem] text-left text-sm">
              <caption className="sr-only">Rounds settled on chain, newest first</caption>
              <thead className="text-xs text-muted">
                <tr className="border-b border-line/70">
                  <th scope="col" className="py-2 pr-3 font-medium">Chain round</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Experiment · round</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Outcomes</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Model hash</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Download</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Settlement tx</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-line/50">
                {rows.map((r) => {
                  const key = roundKey(r)
                  const counts = key ? outcomes.get(key) : undefined
                  const expanded = open === r.round_id
                  const detailsId = `chain-round-${r.round_id}-verdicts`
                  return (
                    <Fragment key={r.round_id}>
                      <tr data-chain-round={r.round_id}>
                        <td className="tabular py-2 pr-3 font-mono">#{r.round_id}</td>
                        <td className="py-2 pr-3 text-muted">
                          {r.experiment_id !== null ? `#${r.experiment_id}` : '—'}
                          {r.round != null ? ` · ${r.round}` : ''}
                        </td>
                        <td className="py-2 pr-3">
                          <div className="flex flex-wrap items-center gap-2">
                            {counts ? <OutcomeCountList compact counts={counts} label={`Round ${r.round} by outcome`} /> : <span className="text-xs text-faint">—</span>}
                            {key && (
                              <button
                                type="button"
                                className="inline-flex items-center gap-0.5 rounded text-xs font-medium text-accent hover:underline"
                                aria-label={`Verdicts of chain round ${r.round_id}`}
                                aria-expanded={expanded}
                                aria-controls={detailsId}
                                onClick={() => setOpen(expanded ? null : r.round_id)}
                              >
                                <ChevronRight className={cn('size-3.5 transition-transform', expanded && 'rotate-90')} aria-hidden />
                                Verdicts
                              </button>
                            )}
                          </div>
                        </td>
                        <td className="py-2 pr-3">
                          <HashText value={r.model_hash} />
                        </td>
                        <td className="py-2 pr-3">
                          <div className="flex flex-wrap items-center gap-2">
                            <Match matches={r.model_matches} />
                            <a
                              href={modelUrl(r.model_hash)}
                              download
                              className="inline-flex items-center gap-1 rounded text-xs font-medium text-accent hover:underline"
                            >
                              <Download className="size-3.5" aria-hidden /> Download
                              <span className="sr-only"> the model of chain round {r.round_id} (safetensors)</span>
                            </a>
                          </div>
                        </td>
                        <td className="py-2 pr-3">
                          <HashText value={r.tx_hash} href={explorerTxHref(r.tx_hash)} label="Show transaction" />
                        </td>
                      </tr>
                      {expanded && r.experiment_id !== null && r.round != null && (
                        <tr id={detailsId}>
                          <td colSpan={6} className="bg-surface-2/40 px-3 py-3">
                            <RoundVerdicts experimentId={r.experiment_id} round={r.round} resultsRoot={r.results_root} />
                          </td>
                        </tr>
                      )}
                    </Fragment>
                  )
                })}
              </tbody>
            </table>
            {all.length > rows.length || showAll ? (
              <Button variant="ghost" size="sm" className="mt-2" onClick={() => setShowAll((v) => !v)} aria-expanded={showAll}>
                {showAll ? 'Show the latest 5' : `Show all ${all.length} rounds`}
              </Button>
            ) : null}
          </div>
        )}
      </CardBody>
    </Card>
  )
}
