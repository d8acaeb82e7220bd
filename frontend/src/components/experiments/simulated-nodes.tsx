import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Server, Terminal, UserPlus } from 'lucide-react'
import { useState } from 'react'
import { api, errorMessage } from '../../lib/api'
import { allowedActions } from '../../lib/experiment-actions'
import { keys } from '../../lib/query-keys'
import type { Experiment } from '../../lib/types'
import { Button } from '../ui/button'
import { Card, CardHeader } from '../ui/card'
import { Field, Input } from '../ui/field'
import { InlineError } from '../ui/states'

/** Gives the experiment nodes: simulated ones from the orchestrator's pool in one click (N, of which K attack),
 * or a person's own machine through the `fedshield worker` command shown. */
export function SimulatedNodes({ experiment }: { experiment: Experiment }) {
  const queryClient = useQueryClient()
  const finished = allowedActions(experiment.status).length === 0 // completed, stopped or failed: no nodes to add
  const pool = useQuery({
    queryKey: keys.simulatedNodes(experiment.id),
    queryFn: ({ signal }) => api.simulatedNodes(experiment.id, signal),
    // The pool's nodes register within seconds; a finished experiment's exit without an event of their own.
    refetchInterval: finished ? false : 5000,
  })
  const slots = pool.data?.open_slots ?? 0
  const [count, setCount] = useState<number | null>(null)
  const [attackers, setAttackers] = useState(0)
  const wanted = Math.min(count ?? slots, slots)
  const add = useMutation({
    mutationFn: () => api.addSimulatedNodes(experiment.id, { count: wanted, attackers: Math.min(attackers, wanted) }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.simulatedNodes(experiment.id) })
      void queryClient.invalidateQueries({ queryKey: keys.experiment(experiment.id) })
    },
  })
  return (
    <Card aria-labelledby="simulated-nodes-title">
      <CardHeader
        id="simulated-nodes-title"
        icon={<Server />}
        title={`Nodes of experiment #${experiment.id}`}
        description={`${experiment.registered_nodes} of ${experiment.num_nodes} registered${pool.data?.available && !finished ? ` · ${pool.data.running} simulated nodes running for it` : ''}`}
      />
      <div className="space-y-4 px-5 pb-5">
        {pool.data?.available && !finished && (
          <form
            className="flex flex-wrap items-end gap-3"
            onSubmit={(e) => {
              e.preventDefault()
              add.mutate()
            }}
          >
            <Field label="Simulated nodes" hint={`${slots} open slots · ${pool.data.idle} idle in the pool`} className="w-36">
              {(p) => <Input {...p} type="number" min={1} max={Math.max(slots, 1)} value={wanted} onChange={(e) => setCount(Number(e.target.value))} />}
            </Field>
            <Field label="of which attack" className="w-32">
              {(p) => <Input {...p} type="number" min={0} max={wanted} value={Math.min(attackers, wanted)} onChange={(e) => setAttackers(Number(e.target.value))} />}
            </Field>
            <Button type="submit" variant="primary" busy={add.isPending} disabled={add.isPending || wanted < 1}>
              <UserPlus aria-hidden /> Add {wanted} simulated {wanted === 1 ? 'node' : 'nodes'}
              {attackers > 0 ? `, ${Math.min(attackers, wanted)} attacking` : ''}
            </Button>
          </form>
        )}
        {add.isError && <InlineError>{errorMessage(add.error)}</InlineError>}
        {add.isSuccess && (
          <p role="status" className="text-sm text-ok">
            Started {add.data.addresses.length} staked simulated nodes
            {add.data.attackers.length ? `; ${add.data.attackers.length} of them attack from the next round` : ''}.
          </p>
        )}
        {pool.data && !pool.data.available && (
          <p className="text-sm text-muted">This orchestrator runs no simulated nodes (start it with <code>fedshield serve --fleet N</code>); join from a machine of yours:</p>
        )}
        {pool.data && (
          <div className="min-w-0">
            <p className="mb-1 flex items-center gap-1.5 text-xs font-medium text-muted">
              <Terminal className="size-3.5" aria-hidden /> Join with a staked wallet of yours
            </p>
            <pre className="rounded-lg bg-surface-2 px-3 py-2 font-mono text-xs break-all whitespace-pre-wrap text-fg" aria-label="Worker command">
              {pool.data.join_command}
            </pre>
          </div>
        )}
        {pool.isError && <InlineError>{errorMessage(pool.error)}</InlineError>}
      </div>
    </Card>
  )
}
