import { useMutation, useQueryClient } from '@tanstack/react-query'
import { Database, Play, Upload } from 'lucide-react'
import { type ChangeEvent, useRef, useState } from 'react'
import { api, datasetUploads, errorMessage } from '../../lib/api'
import { useSelectedExperiment } from '../../lib/experiments'
import { keys } from '../../lib/query-keys'
import type { DatasetChoices, DatasetPreview as Preview, UploadedDataset } from '../../lib/types'
import { Button } from '../ui/button'
import { Card, CardBody, CardHeader } from '../ui/card'
import { Field, Input, Select } from '../ui/field'
import { InlineError } from '../ui/states'
import { DatasetPreview } from './dataset-preview'

const ACCEPT = '.csv,.tsv,.txt,.parquet,.pq,.zip,.npz'

/**
 * Bring your own data: pick a file, see what FedShield makes of it (nothing is stored yet), choose the label
 * column and the columns to leave out, upload it, and create an experiment on it.
 */
export function BringYourData() {
  const queryClient = useQueryClient()
  const { select } = useSelectedExperiment()
  const [file, setFile] = useState<File | null>(null)
  const [choices, setChoices] = useState<DatasetChoices>({ label_column: null, exclude_columns: [], image_size: 32 })
  const [preview, setPreview] = useState<Preview | null>(null)
  const [uploaded, setUploaded] = useState<UploadedDataset | null>(null)
  const [numNodes, setNumNodes] = useState(10)
  const [rounds, setRounds] = useState(10)

  const latest = useRef<DatasetChoices | null>(null)
  const look = useMutation({
    mutationFn: ({ file, choices }: { file: File; choices: DatasetChoices }) => datasetUploads.preview(file, choices),
    // A slower answer to an earlier choice must not replace the preview of the latest one.
    onSuccess: (result, asked) => {
      if (asked.choices === latest.current) setPreview(result)
    },
  })
  const store = useMutation({
    mutationFn: () => datasetUploads.upload(file as File, choices),
    onSuccess: (dataset) => {
      setUploaded(dataset)
      void queryClient.invalidateQueries({ queryKey: keys.datasets })
    },
  })
  const create = useMutation({
    mutationFn: async (dataset: UploadedDataset) => {
      const created = await api.createExperiment({
        name: `${dataset.name} · ${numNodes} nodes`,
        dataset_id: dataset.id,
        num_nodes: numNodes,
        partition: 'iid',
        alpha: 0.5,
        rounds,
        local_epochs: 5,
        batch_size: 128,
        learning_rate: 0.1,
        attack: null,
        seed: 0,
      })
      return api.controlExperiment(created.id, 'start')
    },
    onSuccess: (experiment) => {
      queryClient.setQueryData(keys.experiment(experiment.id), experiment)
      void queryClient.invalidateQueries({ queryKey: keys.experiments })
      select(experiment.id)
    },
  })

  const rethink = (next: DatasetChoices, chosen: File | null = file) => {
    setChoices(next)
    latest.current = next
    setUploaded(null)
    store.reset()
    create.reset()
    if (chosen) look.mutate({ file: chosen, choices: next })
  }
  const pick = (e: ChangeEvent<HTMLInputElement>) => {
    const chosen = e.target.files?.[0] ?? null
    setFile(chosen)
    setPreview(null)
    rethink({ label_column: null, exclude_columns: [], image_size: choices.image_size }, chosen)
  }
  const toggle = (column: string) => {
    const excluded = choices.exclude_columns.includes(column)
      ? choices.exclude_columns.filter((c) => c !== column)
      : [...choices.exclude_columns, column]
    rethink({ ...choices, exclude_columns: excluded })
  }
  const columns = preview?.table?.columns.map((c) => c.name) ?? []

  return (
    <Card aria-labelledby="byod-title">
      <CardHeader
        id="byod-title"
        icon={<Database />}
        title="Bring your own data"
        description="A table (CSV, Parquet) with text columns and empty cells, or a zip of class_name/*.png images. Nothing is stored until you upload."
      />
      <CardBody className="space-y-4" data-testid="bring-your-data">
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="Dataset file" hint="Previewed first: kinds, missing cells, classes.">
            {(props) => (
              <Input
                {...props}
                type="file"
                accept={ACCEPT}
                onChange={pick}
                className="cursor-pointer pt-1.5 text-muted file:mr-3 file:cursor-pointer file:rounded-md file:border-0 file:bg-accent/15 file:px-3 file:py-1 file:text-sm file:font-medium file:text-fg hover:file:bg-accent/25"
              />
            )}
          </Field>
          {preview?.kind === 'table' ? (
            <Field label="Label column" hint="What the model learns to predict.">
              {(props) => (
                <Select
                  {...props}
                  value={preview.label_column ?? ''}
                  onChange={(e) => rethink({ ...choices, label_column: e.target.value, exclude_columns: choices.exclude_columns.filter((c) => c !== e.target.value) })}
                >
                  {columns.map((c) => (
                    <option key={c} value={c}>{c}</option>
                  ))}
                </Select>
              )}
            </Field>
          ) : file?.name.toLowerCase().endsWith('.zip') ? (
            <Field label="Image size" hint="Every image is resized to this square size.">
              {(props) => (
                <Input {...props} type="number" min={4} max={256} value={choices.image_size}
                  onChange={(e) => rethink({ ...choices, image_size: Math.min(256, Math.max(4, Number(e.target.value) || 32)) })} />
              )}
            </Field>
          ) : null}
        </div>
        {look.isPending && <p className="text-sm text-muted" role="status">Reading the file…</p>}
        {look.isError && <InlineError>{errorMessage(look.error)}</InlineError>}
        {preview && !look.isError && <DatasetPreview preview={preview} excluded={choices.exclude_columns} onToggleExclude={toggle} />}
        {preview && !look.isError && !uploaded && (
          <div className="flex justify-end">
            <Button variant="primary" busy={store.isPending} onClick={() => store.mutate()}>
              <Upload aria-hidden /> Upload dataset
            </Button>
          </div>
        )}
        {store.isError && <InlineError>{errorMessage(store.error)}</InlineError>}
        {uploaded && (
          <form
            className="space-y-3 rounded-xl border border-line-strong/50 p-3"
            onSubmit={(e) => {
              e.preventDefault()
              create.mutate(uploaded)
            }}
          >
            <p role="status" className="text-sm text-ok" data-testid="dataset-uploaded">
              Uploaded {uploaded.name} as {uploaded.id}: {uploaded.num_samples} samples, {uploaded.feature_names.length} features.
            </p>
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Nodes">
                {(props) => <Input {...props} type="number" min={1} max={256} value={numNodes} onChange={(e) => setNumNodes(Math.max(1, Number(e.target.value) || 1))} />}
              </Field>
              <Field label="Rounds">
                {(props) => <Input {...props} type="number" min={1} max={10000} value={rounds} onChange={(e) => setRounds(Math.max(1, Number(e.target.value) || 1))} />}
              </Field>
            </div>
            <div className="flex justify-end">
              <Button type="submit" variant="primary" busy={create.isPending}>
                <Play aria-hidden /> Create experiment on it
              </Button>
            </div>
            {create.isError && <InlineError>{errorMessage(create.error)}</InlineError>}
            {create.isSuccess && (
              <p role="status" className="text-sm text-ok" data-testid="byod-experiment">
                Experiment #{create.data.id} started on {uploaded.name}.{' '}
                <a className="underline" href={`#/overview?exp=${create.data.id}`}>Watch it on the Overview</a>
              </p>
            )}
          </form>
        )}
      </CardBody>
    </Card>
  )
}
