import type { ExperimentAction } from './api'
import type { Experiment } from './types'

/** The actions an experiment's status allows. */
export function allowedActions(status: Experiment['status']): ExperimentAction[] {
  switch (status) {
    case 'created':
      return ['start']
    case 'running':
      return ['pause', 'stop']
    case 'paused':
      return ['resume', 'stop']
    default:
      return []
  }
}
