import { useExperiments, useSelectedExperiment } from '../../lib/experiments'
import { Select } from '../ui/field'

/** Chooses the experiment the Overview, Attack Lab and Explorer show. */
export function ExperimentPicker({ className }: { className?: string }) {
  const experiments = useExperiments()
  const { experimentId, select } = useSelectedExperiment()
  const list = experiments.data ?? []
  return (
    <Select
      aria-label="Experiment to watch"
      className={className}
      value={experimentId ?? ''}
      disabled={!list.length}
      onChange={(e) => select(e.target.value ? Number(e.target.value) : null)}
    >
      {!list.length && <option value="">{experiments.isPending ? 'Loading experiments…' : 'No experiments yet'}</option>}
      {[...list]
        .sort((a, b) => b.id - a.id)
        .map((e) => (
          <option key={e.id} value={e.id}>
            #{e.id} {e.name} · {e.status}
          </option>
        ))}
    </Select>
  )
}
