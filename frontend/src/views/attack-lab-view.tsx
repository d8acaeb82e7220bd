import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { AttackControls } from '../components/attack-lab/attack-controls'
import { DetectionGauge } from '../components/attack-lab/detection-gauge'
import { LaunchAttack } from '../components/attack-lab/launch-attack'
import { api } from '../lib/api'
import { type AttackSettings, initialPlan, toRequestPlan } from '../lib/attack-plan'
import { useDatasets, useSelectedExperiment } from '../lib/experiments'
import { useDebouncedValue } from '../lib/hooks'
import type { Experiment } from '../lib/types'

export default function AttackLabView() {
  const { experiment } = useSelectedExperiment()
  // A different experiment brings its own plan and node count: start its lab afresh.
  return <AttackLab key={experiment?.id ?? 'none'} experiment={experiment} />
}

function AttackLab({ experiment }: { experiment: Experiment | null }) {
  const datasets = useDatasets()
  const [plan, setPlan] = useState<AttackSettings>(() => initialPlan(experiment))
  const experimentId = experiment?.id ?? null

  const numNodes = experiment?.num_nodes ?? 10
  const maxRound = Math.max(1, experiment?.rounds ?? 20)
  const datasetId = experiment?.dataset_id ?? datasets.data?.[0]?.id ?? null
  const numClasses = datasets.data?.find((d) => d.id === datasetId)?.num_classes
  const request = toRequestPlan(plan, numNodes)
  // As the controls move, probe at most every 150 ms; a newer key aborts the stale request (the signal).
  const probed = useDebouncedValue(request, 150)
  const idle = !datasetId
    ? datasets.isPending
      ? undefined
      : 'No dataset to probe against: create an experiment first.'
    : probed.kind === 'none'
      ? 'Choose an attack to see how the defense scores it.'
      : undefined
  const probe = useQuery({
    queryKey: ['attack-probe', experimentId, datasetId, probed],
    queryFn: ({ signal }) =>
      api.probe({ experiment_id: experimentId, dataset_id: datasetId!, attack: { ...probed, num_attackers: Math.max(1, probed.num_attackers ?? 0) } }, signal),
    enabled: Boolean(datasetId) && probed.kind !== 'none',
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    retry: false,
  })

  return (
    <div className="space-y-5">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Attack Lab</h1>
        <p className="mt-1 text-sm text-muted">
          Shape an attack and see, before launching it, whether the shield would accept it, exclude it or slash it
          {experiment ? ` in experiment #${experiment.id} (${experiment.name})` : ''}.
        </p>
      </div>
      <div className="grid gap-5 lg:grid-cols-[minmax(0,5fr)_minmax(0,6fr)]">
        <div className="space-y-5">
          <AttackControls plan={plan} onChange={setPlan} numNodes={numNodes} maxRound={maxRound} numClasses={numClasses} />
          <LaunchAttack experiment={experiment} plan={plan} />
        </div>
        <DetectionGauge
          result={probe.data}
          isFetching={probe.isFetching}
          isStale={probe.isPlaceholderData}
          error={probe.error}
          onRetry={() => void probe.refetch()}
          idle={idle}
        />
      </div>
    </div>
  )
}
