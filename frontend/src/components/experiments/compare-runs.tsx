import { useQueries } from '@tanstack/react-query'
import { api } from '../../lib/api'
import type { Run } from '../../lib/chart-data'
import { useExperiments } from '../../lib/experiments'
import { keys } from '../../lib/query-keys'
import { MetricChart } from '../overview/metric-chart'
import { EmptyState } from '../ui/states'

/** Accuracy of the ticked runs, overlaid on one round axis. */
export function CompareRuns({ ids }: { ids: readonly number[] }) {
  const experiments = useExperiments()
  const results = useQueries({
    queries: ids.map((id) => ({ queryKey: keys.rounds(id), queryFn: ({ signal }: { signal: AbortSignal }) => api.rounds(id, signal) })),
  })
  if (!ids.length) {
    return <EmptyState title="Compare runs">Tick two or more experiments in the history to overlay their accuracy.</EmptyState>
  }
  const runs: Run[] = ids.flatMap((id, i) => {
    const rounds = results[i]?.data
    const meta = experiments.data?.find((e) => e.id === id)
    return rounds ? [{ id, name: meta?.name ?? `run ${id}`, rounds }] : []
  })
  const failed = results.find((r) => r.isError)
  return (
    <div className="space-y-5">
      <MetricChart metric="accuracy" runs={runs} isPending={results.some((r) => r.isPending)} error={failed?.error} />
      <MetricChart metric="loss" runs={runs} isPending={results.some((r) => r.isPending)} error={failed?.error} />
    </div>
  )
}
