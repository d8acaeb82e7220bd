import { useMutation, useQueryClient } from '@tanstack/react-query'
import { Plus, Sparkles } from 'lucide-react'
import { type FormEvent, useState } from 'react'
import { api, errorMessage } from '../../lib/api'
import { describePlan } from '../../lib/attack-plan'
import { useDatasets, useExperiments, useSelectedExperiment } from '../../lib/experiments'
import { PRESETS, presetName } from '../../lib/presets'
import { keys } from '../../lib/query-keys'
import type { Partition } from '../../lib/types'
import { Button } from '../ui/button'
import { Card, CardBody, CardHeader } from '../ui/card'
import { Field, Input, Select } from '../ui/field'
import { InlineError } from '../ui/states'

/** Creates an experiment from a preset (its settings editable), and starts it if asked. */
export function CreateExperiment() {
  const datasets = useDatasets()
  const experiments = useExperiments()
  const { select } = useSelectedExperiment()
  const queryClient = useQueryClient()
  const [presetId, setPresetId] = useState(PRESETS[0].id)
  const preset = PRESETS.find((p) => p.id === presetId) ?? PRESETS[0]
  const [name, setName] = useState('')
  const [datasetId, setDatasetId] = useState<string>('')
  const [numNodes, setNumNodes] = useState(preset.config.num_nodes)
  const [rounds, setRounds] = useState(preset.config.rounds)
  const [partition, setPartition] = useState<Partition>(preset.config.partition)
  const [startNow, setStartNow] = useState(true)
  const choose = (id: string) => {
    const next = PRESETS.find((p) => p.id === id) ?? PRESETS[0]
    setPresetId(id)
    setNumNodes(next.config.num_nodes)
    setRounds(next.config.rounds)
    setPartition(next.config.partition)
    setName('')
  }
  const dataset = datasetId || (datasets.data?.some((d) => d.id === preset.config.dataset_id) ? preset.config.dataset_id : (datasets.data?.[0]?.id ?? preset.config.dataset_id))
  const create = useMutation({
    mutationFn: async () => {
      const attack = preset.config.attack ? { ...preset.config.attack, num_attackers: Math.min(preset.config.attack.num_attackers ?? 0, numNodes) } : null
      const created = await api.createExperiment({
        ...preset.config,
        name: name.trim() || presetName(preset, (experiments.data ?? []).map((e) => e.name)),
        dataset_id: dataset,
        num_nodes: numNodes,
        rounds,
        partition,
        attack,
      })
      return startNow ? api.controlExperiment(created.id, 'start') : created
    },
    onSuccess: (experiment) => {
      queryClient.setQueryData(keys.experiment(experiment.id), experiment)
      void queryClient.invalidateQueries({ queryKey: keys.experiments })
      select(experiment.id)
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    create.mutate()
  }
  return (
    <Card aria-labelledby="create-title">
      <CardHeader id="create-title" icon={<Sparkles />} title="New experiment" description="Start from a preset; adjust what you need." />
      <CardBody>
        <form onSubmit={submit} className="space-y-4" data-testid="create-experiment">
          <fieldset>
            <legend className="mb-2 text-xs font-medium text-muted">Preset</legend>
            <div className="grid gap-2 sm:grid-cols-2">
              {PRESETS.map((p) => (
                <label
                  key={p.id}
                  className={`flex cursor-pointer flex-col gap-0.5 rounded-xl border p-3 has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-offset-2 has-[:focus-visible]:outline-accent ${
                    p.id === presetId ? 'border-accent/60 bg-accent/10' : 'border-line-strong/50 hover:bg-surface-3'
                  }`}
                >
                  <input type="radio" name="preset" value={p.id} checked={p.id === presetId} onChange={() => choose(p.id)} className="sr-only" />
                  <span className="text-sm font-semibold text-fg">{p.label}</span>
                  <span className="text-xs text-muted">{p.description}</span>
                </label>
              ))}
            </div>
          </fieldset>
          <div className="grid gap-3 sm:grid-cols-2">
            <Field label="Name" hint="Defaults to the preset's name.">
              {(props) => <Input {...props} value={name} onChange={(e) => setName(e.target.value)} placeholder={preset.label} maxLength={200} />}
            </Field>
            <Field label="Dataset">
              {(props) => (
                <Select {...props} value={dataset} onChange={(e) => setDatasetId(e.target.value)} disabled={!datasets.data?.length}>
                  {(datasets.data ?? [{ id: preset.config.dataset_id, name: preset.config.dataset_id, num_samples: 0 }]).map((d) => (
                    <option key={d.id} value={d.id}>
                      {d.name}
                      {d.num_samples ? ` · ${d.num_samples} samples` : ''}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="Nodes">
              {(props) => <Input {...props} type="number" min={1} max={256} value={numNodes} onChange={(e) => setNumNodes(Math.max(1, Number(e.target.value) || 1))} />}
            </Field>
            <Field label="Rounds">
              {(props) => <Input {...props} type="number" min={1} max={10000} value={rounds} onChange={(e) => setRounds(Math.max(1, Number(e.target.value) || 1))} />}
            </Field>
            <Field label="Data partition">
              {(props) => (
                <Select {...props} value={partition} onChange={(e) => setPartition(e.target.value as Partition)}>
                  <option value="iid">IID (even split)</option>
                  <option value="dirichlet">Dirichlet (α = {preset.config.alpha})</option>
                  <option value="shards">Shards</option>
                </Select>
              )}
            </Field>
            <div className="space-y-1.5">
              <span className="block text-xs font-medium text-muted">Attack</span>
              <p className="text-sm text-fg">{preset.config.attack ? describePlan(preset.config.attack, numNodes) : 'None'}</p>
            </div>
          </div>
          <div className="flex flex-wrap items-center justify-between gap-3">
            <label className="flex items-center gap-2 text-sm text-muted">
              <input type="checkbox" className="size-4 accent-[var(--color-accent)]" checked={startNow} onChange={(e) => setStartNow(e.target.checked)} />
              Start right away
            </label>
            <Button type="submit" variant="primary" busy={create.isPending}>
              <Plus aria-hidden /> Create{startNow ? ' and start' : ''}
            </Button>
          </div>
          {create.isError && <InlineError>{errorMessage(create.error)}</InlineError>}
          {create.isSuccess && (
            <p role="status" className="text-sm text-ok">
              Experiment #{create.data.id} {create.data.status === 'running' ? 'started' : 'created'}.{' '}
              <a className="underline" href={`#/overview?exp=${create.data.id}`}>
                Watch it on the Overview
              </a>
            </p>
          )}
        </form>
      </CardBody>
    </Card>
  )
}
