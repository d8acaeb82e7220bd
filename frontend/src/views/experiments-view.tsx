import { CompareRuns } from '../components/experiments/compare-runs'
import { BringYourData } from '../components/datasets/bring-your-data'
import { CreateExperiment } from '../components/experiments/create-experiment'
import { ExperimentList } from '../components/experiments/experiment-list'
import { RoundTable } from '../components/experiments/round-table'
import { SimulatedNodes } from '../components/experiments/simulated-nodes'
import { useSelectedExperiment } from '../lib/experiments'
import { replaceParams, useRoute } from '../lib/router'

export default function ExperimentsView() {
  const { params } = useRoute()
  const { experiment } = useSelectedExperiment()
  const compared = (params.compare ?? '').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0)
  return (
    <div className="space-y-5">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Experiments</h1>
        <p className="mt-1 text-sm text-muted">Create runs from presets, control them, compare them, see each round's outcomes and export their results.</p>
      </div>
      <div className="grid items-start gap-5 xl:grid-cols-2">
        <div className="min-w-0 space-y-5">
          <CreateExperiment />
          <BringYourData />
          <CompareRuns ids={compared} />
        </div>
        <ExperimentList compared={compared} onCompare={(ids) => replaceParams({ compare: ids.join(',') || null })} />
      </div>
      {experiment && <SimulatedNodes experiment={experiment} />}
      <RoundTable experiment={experiment} />
    </div>
  )
}
