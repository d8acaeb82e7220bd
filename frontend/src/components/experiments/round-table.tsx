import { FileSpreadsheet, Table2 } from 'lucide-react'
import { normalizeAccuracy, roundsCsv } from '../../lib/chart-data'
import { useRounds } from '../../lib/experiments'
import { formatMetric, formatPercent } from '../../lib/numbers'
import { OUTCOME_META, OUTCOMES, roundOutcomes } from '../../lib/outcomes'
import type { Experiment } from '../../lib/types'
import { Button } from '../ui/button'
import { Card, CardBody, CardHeader } from '../ui/card'
import { OUTCOME_ICON, OUTCOME_TEXT } from '../ui/outcome-badge'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'

/** Saves text as a file the browser downloads, without a round trip to the server. */
function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
  URL.revokeObjectURL(url)
}

/** The watched experiment round by round: accuracy, loss, how many updates got each outcome, and the settlement. */
export function RoundTable({ experiment }: { experiment: Experiment | null }) {
  const rounds = useRounds(experiment?.id ?? null)
  const list = [...(rounds.data ?? [])].sort((a, b) => b.round - a.round)
  return (
    <Card aria-labelledby="round-table-title">
      <CardHeader
        id="round-table-title"
        icon={<Table2 />}
        title={experiment ? `Rounds of #${experiment.id} ${experiment.name}` : 'Rounds'}
        description="Each round's updates by outcome: accepted, excluded (left out, not slashed) and slashed."
        actions={
          experiment && list.length ? (
            <Button
              variant="ghost"
              size="sm"
              onClick={() => download(`experiment-${experiment.id}-rounds.csv`, roundsCsv(list), 'text/csv')}
              aria-label={`Rounds CSV of experiment #${experiment.id}`}
            >
              <FileSpreadsheet aria-hidden /> Rounds CSV
            </Button>
          ) : undefined
        }
      />
      <CardBody>
        {!experiment ? (
          <EmptyState title="No experiment chosen">Pick one in the history to see its rounds.</EmptyState>
        ) : rounds.isError ? (
          <ErrorState error={rounds.error} title="Could not load the rounds" onRetry={() => void rounds.refetch()} />
        ) : rounds.isPending ? (
          <LoadingState rows={5} label="Loading rounds…" />
        ) : !list.length ? (
          <EmptyState title="No rounds yet">Rounds appear here once the experiment starts.</EmptyState>
        ) : (
          <div
            className="relative -mx-5 max-h-[28rem] overflow-auto px-5"
            role="region"
            tabIndex={0}
            aria-label={`Rounds of experiment #${experiment.id}`}
          >
            <table className="w-full min-w-[36rem] text-left text-sm">
              <caption className="sr-only">Rounds of experiment #{experiment.id}, newest first, with updates by outcome</caption>
              <thead className="sticky top-0 bg-surface text-xs text-muted">
                <tr className="border-b border-line/70">
                  <th scope="col" className="py-2 pr-3 font-medium">Round</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Status</th>
                  <th scope="col" className="py-2 pr-3 text-right font-medium">Accuracy</th>
                  <th scope="col" className="py-2 pr-3 text-right font-medium">Loss</th>
                  {OUTCOMES.map((o) => {
                    const Icon = OUTCOME_ICON[o]
                    return (
                      <th key={o} scope="col" className="py-2 pr-3 text-right font-medium">
                        <span className="inline-flex items-center gap-1">
                          <Icon className={`size-3.5 ${OUTCOME_TEXT[o]}`} aria-hidden /> {OUTCOME_META[o].label}
                        </span>
                      </th>
                    )
                  })}
                  <th scope="col" className="py-2 pr-3 font-medium">Settlement</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-line/50">
                {list.map((r) => {
                  const counts = roundOutcomes(r)
                  return (
                    <tr key={r.round} data-round={r.round}>
                      <td className="tabular py-1.5 pr-3 font-mono">{r.round}</td>
                      <td className="py-1.5 pr-3 text-muted">{r.status}</td>
                      <td className="tabular py-1.5 pr-3 text-right font-mono">{formatPercent(normalizeAccuracy(r.accuracy))}</td>
                      <td className="tabular py-1.5 pr-3 text-right font-mono">{formatMetric(r.loss)}</td>
                      {OUTCOMES.map((o) => (
                        <td key={o} className="tabular py-1.5 pr-3 text-right font-mono" data-outcome={o}>
                          {counts[o]}
                        </td>
                      ))}
                      <td className="py-1.5 pr-3 text-muted">{r.settlement?.status ?? '—'}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        )}
      </CardBody>
    </Card>
  )
}
