import { useExperiments, useSelectedExperiment } from '../../lib/experiments'
import type { Experiment } from '../../lib/types'
import { Select } from '../ui/field'

function optionText(e: Experiment): string {
  return `#${e.id} ${e.name} · ${e.status}`
}

/** Chooses the experiment the Overview, Attack Lab and Explorer show. */
export function ExperimentPicker({ className }: { className?: string }) {
  const experiments = useExperiments()
  const { experimentId, select } = useSelectedExperiment()
  const list = experiments.data ?? []
  const chosen = list.find((e) => e.id === experimentId)
  return (
    <Select
      aria-label="Experiment to watch"
      // The header gives the picker little room: the whole name is there on hover.
      title={chosen ? optionText(chosen) : undefined}
      className={className}
      value={experimentId ?? ''}
      disabled={!list.length}
      onChange={(e) => select(e.target.value ? Number(e.target.value) : null)}
    >
      {!list.length && <option value="">{experiments.isPending ? 'Loading experiments…' : 'No experiments yet'}</option>}
      {[...list]
        .sort((a, b) => b.id - a.id)
        .map((e) => (
          <option key={e.id} value={e.id} title={optionText(e)}>
            {optionText(e)}
          </option>
        ))}
    </Select>
  )
}
