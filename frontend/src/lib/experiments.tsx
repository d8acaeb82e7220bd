/** Experiments: the list, the one being watched (chosen in the header, kept in the URL), and its live data. */
import { useQuery } from '@tanstack/react-query'
import { createContext, type ReactNode, use, useCallback, useMemo, useState } from 'react'
import { api } from './api'
import { keys } from './query-keys'
import { replaceParams, useRoute } from './router'
import type { Experiment } from './types'

/** The experiment to show when none is chosen: a running one, else the newest. */
export function defaultExperiment(experiments: readonly Experiment[]): Experiment | null {
  if (!experiments.length) return null
  const active = experiments.filter((e) => e.status === 'running' || e.status === 'paused')
  const pool = active.length ? active : experiments
  return [...pool].sort((a, b) => b.id - a.id)[0]
}

export function useExperiments() {
  return useQuery({
    queryKey: keys.experiments,
    queryFn: ({ signal }) => api.experiments(signal),
    refetchInterval: 15_000,
  })
}

interface Selection {
  experimentId: number | null
  experiment: Experiment | null
  select: (id: number | null) => void
}

const SelectionContext = createContext<Selection>({ experimentId: null, experiment: null, select: () => {} })

export function SelectedExperimentProvider({ children }: { children: ReactNode }) {
  const route = useRoute()
  const experiments = useExperiments()
  const [chosen, setChosen] = useState<number | null>(null)
  const fromUrl = route.params.exp ? Number(route.params.exp) : null
  const list = useMemo(() => experiments.data ?? [], [experiments.data])
  const wanted = Number.isFinite(fromUrl) && fromUrl !== null ? fromUrl : chosen
  const experiment = list.find((e) => e.id === wanted) ?? defaultExperiment(list)
  const select = useCallback((id: number | null) => {
    setChosen(id)
    replaceParams({ exp: id })
  }, [])
  const value = useMemo(
    () => ({ experimentId: experiment?.id ?? null, experiment: experiment ?? null, select }),
    [experiment, select],
  )
  return <SelectionContext value={value}>{children}</SelectionContext>
}

export function useSelectedExperiment(): Selection {
  return use(SelectionContext)
}

export function useRounds(experimentId: number | null) {
  return useQuery({
    queryKey: keys.rounds(experimentId ?? -1),
    queryFn: ({ signal }) => api.rounds(experimentId!, signal),
    enabled: experimentId !== null,
  })
}

export function useNodes(experimentId: number | null) {
  return useQuery({
    queryKey: keys.nodes(experimentId ?? -1),
    queryFn: ({ signal }) => api.nodes(experimentId!, signal),
    enabled: experimentId !== null,
  })
}

export function useDatasets() {
  return useQuery({ queryKey: keys.datasets, queryFn: ({ signal }) => api.datasets(signal), staleTime: 60_000 })
}
