import { useMutation, useQueryClient } from '@tanstack/react-query'
import { Pause, Play, Square } from 'lucide-react'
import { api, errorMessage, type ExperimentAction } from '../../lib/api'
import { keys } from '../../lib/query-keys'
import { allowedActions } from '../../lib/experiment-actions'
import type { Experiment } from '../../lib/types'
import { Button } from '../ui/button'
import { InlineError } from '../ui/states'

const LABELS: Record<ExperimentAction, string> = { start: 'Start', pause: 'Pause', resume: 'Resume', stop: 'Stop' }

/** Start, pause, resume or stop an experiment, showing the request pending and any refusal. */
export function ExperimentControls({ experiment, size = 'sm' }: { experiment: Experiment; size?: 'sm' | 'md' }) {
  const queryClient = useQueryClient()
  const control = useMutation({
    mutationFn: (action: ExperimentAction) => api.controlExperiment(experiment.id, action),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.experiment(updated.id), updated)
      void queryClient.invalidateQueries({ queryKey: keys.experiments })
    },
  })
  const actions = allowedActions(experiment.status)
  if (!actions.length) return null
  return (
    <div className="flex flex-col items-end gap-1.5">
      <div className="flex flex-wrap gap-2" role="group" aria-label={`Control experiment #${experiment.id}`}>
        {actions.map((action) => (
          <Button
            key={action}
            size={size}
            variant={action === 'start' || action === 'resume' ? 'primary' : action === 'stop' ? 'danger' : 'secondary'}
            busy={control.isPending && control.variables === action}
            disabled={control.isPending}
            onClick={() => control.mutate(action)}
          >
            {action === 'pause' ? <Pause aria-hidden /> : action === 'stop' ? <Square aria-hidden /> : <Play aria-hidden />}
            {LABELS[action]}
          </Button>
        ))}
      </div>
      {control.isError && <InlineError>{errorMessage(control.error)}</InlineError>}
    </div>
  )
}
