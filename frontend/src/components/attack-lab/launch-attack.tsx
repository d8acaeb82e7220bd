import { useMutation, useQueryClient } from '@tanstack/react-query'
import { ArrowRight, CircleCheck, Rocket } from 'lucide-react'
import { api, errorMessage } from '../../lib/api'
import { type AttackSettings, describePlan, firstAttackRound, toRequestPlan } from '../../lib/attack-plan'
import { keys } from '../../lib/query-keys'
import { routeHref } from '../../lib/router'
import type { AttackPlan, Experiment } from '../../lib/types'
import { Button, LinkButton } from '../ui/button'
import { Card, CardBody } from '../ui/card'
import { InlineError } from '../ui/states'

/** Puts the plan in force for the experiment (it applies from the next round opened). */
export function LaunchAttack({ experiment, plan }: { experiment: Experiment | null; plan: AttackSettings }) {
  const queryClient = useQueryClient()
  const numNodes = experiment?.num_nodes ?? null
  const launch = useMutation({
    // Sent with the round it really starts in, however long ago the slider was set.
    mutationFn: (p: AttackPlan) =>
      api.setAttack(experiment!.id, { ...p, start_round: firstAttackRound(p.start_round ?? 1, experiment!.current_round) }),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.experiment(updated.id), updated)
      void queryClient.invalidateQueries({ queryKey: keys.experiments })
    },
  })
  const request = toRequestPlan(plan, numNodes)
  const launched = launch.isSuccess && JSON.stringify(launch.variables) === JSON.stringify(request)
  const finished = experiment && ['completed', 'stopped'].includes(experiment.status)
  return (
    <Card className="p-5" aria-label="Launch the attack">
      <CardBody className="space-y-3 p-0">
        <p className="text-sm text-muted">
          <span className="font-medium text-fg">{describePlan(request, numNodes)}</span>
          {experiment ? ` · experiment #${experiment.id}` : ''}
        </p>
        <div className="flex flex-wrap items-center gap-3">
          <Button
            variant={request.kind === 'none' || request.num_attackers === 0 ? 'secondary' : 'danger'}
            size="lg"
            busy={launch.isPending}
            disabled={!experiment || Boolean(finished)}
            onClick={() => launch.mutate(request)}
          >
            <Rocket aria-hidden />
            {request.kind === 'none' || request.num_attackers === 0 ? 'Clear the attack' : 'Launch attack'}
          </Button>
          {!experiment && <span className="text-sm text-faint">Choose an experiment to launch against.</span>}
          {finished && <span className="text-sm text-faint">Experiment #{experiment.id} is {experiment.status}: create a new one to attack.</span>}
        </div>
        {launch.isError && <InlineError>{errorMessage(launch.error)}</InlineError>}
        {launched && experiment && (
          <div role="status" className="flex flex-wrap items-center gap-3 rounded-xl border border-ok/30 bg-ok/10 px-4 py-3">
            <CircleCheck className="size-5 text-ok" aria-hidden />
            <p className="min-w-0 flex-1 text-sm text-fg">
              Attackers attack from round {launch.data.attack?.start_round ?? request.start_round}.{' '}
              {experiment.status === 'running' ? 'Watch the shield catch it live.' : 'Start the experiment to see it play out.'}
            </p>
            <LinkButton href={routeHref('overview', { exp: experiment.id })} variant="primary" size="sm">
              Watch it on the Overview <ArrowRight aria-hidden />
            </LinkButton>
          </div>
        )}
      </CardBody>
    </Card>
  )
}
