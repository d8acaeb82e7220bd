/** The orchestrator's HTTP API (docs/API.md), same origin under /api. */
import { markTokenRequired, readAdminToken } from './admin-token'
import type {
  AttackPlan,
  ChainRound,
  ChainTransaction,
  Dataset,
  DatasetChoices,
  DatasetPreview,
  Deployment,
  EventLogPage,
  Experiment,
  ExperimentCreate,
  Health,
  Node,
  SimulatedNodes,
  SimulatedNodesAdd,
  SimulatedNodesAdded,
  ProbeRequest,
  ProbeResult,
  Round,
  UploadedDataset,
  Verdict,
  WalletReport,
} from './types'

export class ApiError extends Error {
  readonly status: number
  readonly detail: string

  constructor(status: number, detail: string) {
    super(detail)
    this.name = 'ApiError'
    this.status = status
    this.detail = detail
  }
}

/** FastAPI's `{detail}` is a string, or for 422 a list of `{loc, msg}`: flatten both into one sentence. */
export function describeDetail(body: unknown, fallback: string): string {
  if (body && typeof body === 'object' && 'detail' in body) {
    const detail = (body as { detail: unknown }).detail
    if (typeof detail === 'string') return detail
    if (Array.isArray(detail)) {
      return detail
        .map((d) => {
          if (d && typeof d === 'object') {
            const { loc, msg } = d as { loc?: unknown[]; msg?: string }
            const where = Array.isArray(loc) ? loc.filter((p) => p !== 'body').join('.') : ''
            return where ? `${where}: ${msg ?? ''}` : (msg ?? JSON.stringify(d))
          }
          return String(d)
        })
        .join('; ')
    }
  }
  return fallback
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.detail
  if (error instanceof Error) return error.message
  return String(error)
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  const token = readAdminToken()
  if (token) headers.Authorization = `Bearer ${token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    })
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error
    throw new ApiError(0, 'The orchestrator cannot be reached.')
  }
  if (!response.ok) {
    let parsed: unknown = null
    try {
      parsed = await response.json()
    } catch {
      // a proxy's HTML error page: the status text says enough
    }
    const detail = describeDetail(parsed, `${response.status} ${response.statusText}`.trim())
    // 401: no token sent; 403 naming the token: a wrong one. Either way, ask for it.
    if (response.status === 401 || (response.status === 403 && /admin token/i.test(detail))) markTokenRequired()
    throw new ApiError(response.status, detail)
  }
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}

const get = <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, signal)
const post = <T>(path: string, body?: unknown, signal?: AbortSignal) => request<T>('POST', path, body, signal)

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value))
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

export type ExperimentAction = 'start' | 'pause' | 'resume' | 'stop'

export const api = {
  health: (signal?: AbortSignal) => get<Health>('/api/health', signal),
  deployment: (signal?: AbortSignal) => get<Deployment>('/api/chain/deployment', signal),
  datasets: (signal?: AbortSignal) => get<Dataset[]>('/api/datasets', signal),
  experiments: (signal?: AbortSignal) => get<Experiment[]>('/api/experiments', signal),
  experiment: (id: number, signal?: AbortSignal) => get<Experiment>(`/api/experiments/${id}`, signal),
  createExperiment: (body: ExperimentCreate) => post<Experiment>('/api/experiments', body),
  controlExperiment: (id: number, action: ExperimentAction) => post<Experiment>(`/api/experiments/${id}/${action}`),
  rounds: (id: number, signal?: AbortSignal) => get<Round[]>(`/api/experiments/${id}/rounds`, signal),
  verdicts: (id: number, round: number, signal?: AbortSignal) =>
    get<Verdict[]>(`/api/experiments/${id}/rounds/${round}/verdicts`, signal),
  nodes: (id: number, signal?: AbortSignal) => get<Node[]>(`/api/experiments/${id}/nodes`, signal),
  simulatedNodes: (id: number, signal?: AbortSignal) => get<SimulatedNodes>(`/api/experiments/${id}/simulated-nodes`, signal),
  addSimulatedNodes: (id: number, body: SimulatedNodesAdd) =>
    post<SimulatedNodesAdded>(`/api/experiments/${id}/simulated-nodes`, body),
  setAttack: (id: number, plan: AttackPlan) => request<Experiment>('PUT', `/api/experiments/${id}/attack`, plan),
  probe: (body: ProbeRequest, signal?: AbortSignal) => post<ProbeResult>('/api/attack-probe', body, signal),
  wallet: (address: string, signal?: AbortSignal) => get<WalletReport>(`/api/wallets/${address}`, signal),
  chainRounds: (signal?: AbortSignal) => get<ChainRound[]>('/api/chain/rounds', signal),
  transactions: (
    filter: { experiment_id?: number | null; round?: number | null; wallet?: string | null },
    signal?: AbortSignal,
  ) => get<ChainTransaction[]>(`/api/chain/transactions${query(filter)}`, signal),
  /** Events after `after`, oldest first. */
  eventLog: (after: number, limit: number, signal?: AbortSignal) =>
    get<EventLogPage>(`/api/events/log${query({ after, limit })}`, signal),
  /** The newest `limit` events of one experiment (and those of no experiment), newest first. */
  experimentEvents: (experimentId: number, limit: number, signal?: AbortSignal) =>
    get<EventLogPage>(`/api/events/log${query({ before: Number.MAX_SAFE_INTEGER, limit, experiment_id: experimentId })}`, signal),
  /** The newest `limit` events, newest first. */
  latestEvents: (limit: number, signal?: AbortSignal) =>
    get<EventLogPage>(`/api/events/log${query({ before: Number.MAX_SAFE_INTEGER, limit })}`, signal),
}

export const exportUrl = (id: number, format: 'json' | 'csv') => `/api/experiments/${id}/export?format=${format}`

/** An experiment's export, fetched with the admin token (a plain link cannot send it) and saved from a blob. */
export async function downloadExport(id: number, format: 'json' | 'csv'): Promise<void> {
  const headers: Record<string, string> = {}
  const token = readAdminToken()
  if (token) headers.Authorization = `Bearer ${token}`
  const response = await fetch(exportUrl(id, format), { headers })
  if (!response.ok) {
    if (response.status === 401 || response.status === 403) markTokenRequired()
    throw new ApiError(response.status, `export answered ${response.status}`)
  }
  const href = URL.createObjectURL(await response.blob())
  const link = document.createElement('a')
  link.href = href
  link.download = `experiment-${id}.${format}`
  link.click()
  URL.revokeObjectURL(href)
}
export const modelUrl = (hash: string) => `/api/models/${hash}`

/** A multipart POST (file uploads), with the same admin token and error handling as `request`. */
async function postForm<T>(path: string, form: FormData): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  const token = readAdminToken()
  if (token) headers.Authorization = `Bearer ${token}`
  let response: Response
  try {
    response = await fetch(path, { method: 'POST', headers, body: form })
  } catch {
    throw new ApiError(0, 'The orchestrator cannot be reached.')
  }
  if (!response.ok) {
    let parsed: unknown = null
    try {
      parsed = await response.json()
    } catch {
      // a proxy's HTML error page: the status text says enough
    }
    const detail = describeDetail(parsed, `${response.status} ${response.statusText}`.trim())
    if (response.status === 401 || (response.status === 403 && /admin token/i.test(detail))) markTokenRequired()
    throw new ApiError(response.status, detail)
  }
  return (await response.json()) as T
}

function datasetForm(file: File, choices: DatasetChoices): FormData {
  const form = new FormData()
  form.append('file', file, file.name)
  if (choices.label_column) form.append('label_column', choices.label_column)
  for (const column of choices.exclude_columns) form.append('exclude_columns', column)
  form.append('image_size', String(choices.image_size))
  return form
}

/** Bring your own data: preview an upload (nothing stored), then store it with the same choices. */
export const datasetUploads = {
  preview: (file: File, choices: DatasetChoices) => postForm<DatasetPreview>('/api/dataset-previews', datasetForm(file, choices)),
  upload: (file: File, choices: DatasetChoices) => postForm<UploadedDataset>('/api/datasets', datasetForm(file, choices)),
}
