import { useQueries } from '@tanstack/react-query'
import { FlaskConical } from 'lucide-react'
import { useMemo } from 'react'
import { MetricChart } from '../components/overview/metric-chart'
import { NodeGrid } from '../components/overview/node-grid'
import { OutcomeChart } from '../components/overview/outcome-chart'
import { OverlayPicker } from '../components/overview/overlay-picker'
import { RoundProgress } from '../components/overview/round-progress'
import { RunCounters } from '../components/overview/run-counters'
import { SystemLog } from '../components/overview/system-log'
import { LinkButton } from '../components/ui/button'
import { EmptyState, ErrorState, LoadingState } from '../components/ui/states'
import { api } from '../lib/api'
import { type Run, runCounters } from '../lib/chart-data'
import { useExperiments, useNodes, useRounds, useSelectedExperiment } from '../lib/experiments'
import { keys } from '../lib/query-keys'
import { replaceParams, routeHref, useRoute } from '../lib/router'

function parseIds(text: string | undefined): number[] {
  return (text ?? '').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0)
}

export function OverviewView() {
  const experiments = useExperiments()
  const { experiment, experimentId } = useSelectedExperiment()
  const route = useRoute()
  const rounds = useRounds(experimentId)
  const nodes = useNodes(experimentId)
  const overlayIds = useMemo(() => parseIds(route.params.overlay).filter((id) => id !== experimentId), [route.params.overlay, experimentId])
  const overlays = useQueries({
    queries: overlayIds.map((id) => ({
      queryKey: keys.rounds(id),
      queryFn: ({ signal }: { signal: AbortSignal }) => api.rounds(id, signal),
      staleTime: 60_000,
    })),
  })
  const runs = useMemo<Run[]>(() => {
    if (!experiment) return []
    const list: Run[] = [{ id: experiment.id, name: experiment.name, rounds: rounds.data ?? [] }]
    overlayIds.forEach((id, i) => {
      const data = overlays[i]?.data
      const meta = experiments.data?.find((e) => e.id === id)
      if (data) list.push({ id, name: meta?.name ?? `run ${id}`, rounds: data })
    })
    return list
  }, [experiment, rounds.data, overlayIds, overlays, experiments.data])
  const counters = useMemo(
    () => (rounds.data && nodes.data ? runCounters(rounds.data, nodes.data) : null),
    [rounds.data, nodes.data],
  )

  if (experiments.isError) return <ErrorState error={experiments.error} title="Could not load experiments" onRetry={() => void experiments.refetch()} />
  if (experiments.isPending) return <LoadingState rows={8} label="Loading experiments…" />
  if (!experiment) {
    return (
      <div className="space-y-5">
      <EmptyState
        icon={<FlaskConical />}
        title="No experiment yet"
        className="py-16"
        action={
          <LinkButton href={routeHref('experiments')} variant="primary" className="mt-2">
            Create an experiment
          </LinkButton>
        }
      >
        Create one from a preset, start it, and its rounds, verdicts and settlements stream here live.
      </EmptyState>
      <SystemLog experimentId={null} />
      </div>
    )
  }
  const live = experiment.status === 'running'
  return (
    <div className="space-y-5">
      <RoundProgress experiment={experiment} rounds={rounds.data ?? []} />
      <RunCounters counters={counters} />
      <OverlayPicker
        experiments={experiments.data ?? []}
        currentId={experiment.id}
        selected={overlayIds}
        onChange={(ids) => replaceParams({ overlay: ids.join(',') || null })}
      />
      <div className="grid gap-5 xl:grid-cols-2">
        <MetricChart metric="accuracy" runs={runs} live={live} isPending={rounds.isPending} error={rounds.error} onRetry={() => void rounds.refetch()} />
        <MetricChart metric="loss" runs={runs} live={live} isPending={rounds.isPending} error={rounds.error} onRetry={() => void rounds.refetch()} />
      </div>
      <OutcomeChart
        rounds={rounds.data ?? []}
        nodes={nodes.data ?? []}
        live={live}
        isPending={rounds.isPending}
        error={rounds.error}
        onRetry={() => void rounds.refetch()}
      />
      <div className="grid gap-5 2xl:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
        <NodeGrid nodes={nodes.data} isPending={nodes.isPending} error={nodes.error} onRetry={() => void nodes.refetch()} />
        <SystemLog experimentId={experiment.id} className="2xl:max-h-[48rem]" />
      </div>
    </div>
  )
}
