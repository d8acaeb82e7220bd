import { useQuery } from '@tanstack/react-query'
import { CircleHelp, Download, Layers, ShieldCheck, ShieldX } from 'lucide-react'
import { useState } from 'react'
import { api, modelUrl } from '../../lib/api'
import { explorerTxHref } from '../../lib/log-format'
import { keys } from '../../lib/query-keys'
import { Badge } from '../ui/badge'
import { Button } from '../ui/button'
import { Card, CardBody, CardHeader } from '../ui/card'
import { HashText } from '../ui/hash-link'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'

function Match({ matches }: { matches: boolean | null }) {
  if (matches === null)
    return (
      <Badge tone="neutral">
        <CircleHelp aria-hidden /> not recorded here
      </Badge>
    )
  return matches ? (
    <Badge tone="ok">
      <ShieldCheck aria-hidden /> matches
    </Badge>
  ) : (
    <Badge tone="bad">
      <ShieldX aria-hidden /> mismatch
    </Badge>
  )
}

/** Rounds settled on chain: the model hash recorded, and whether the downloadable model hashes to it. */
export function ChainRounds() {
  const rounds = useQuery({ queryKey: keys.chainRounds, queryFn: ({ signal }) => api.chainRounds(signal) })
  const [showAll, setShowAll] = useState(false)
  const all = [...(rounds.data ?? [])].sort((a, b) => b.round_id - a.round_id)
  const rows = showAll ? all : all.slice(0, 5)
  return (
    <Card aria-labelledby="chain-rounds-title">
      <CardHeader
        id="chain-rounds-title"
        icon={<Layers />}
        title="Rounds settled on chain"
        description="Each global model's keccak256 is written on chain; download one and check it yourself."
      />
      <CardBody>
        {rounds.isError ? (
          <ErrorState error={rounds.error} title="Could not read settled rounds" onRetry={() => void rounds.refetch()} />
        ) : rounds.isPending ? (
          <LoadingState rows={4} />
        ) : !rows.length ? (
          <EmptyState title="No round settled yet">The first settlement appears here when a round closes.</EmptyState>
        ) : (
          <div className="-mx-5 overflow-x-auto px-5">
            <table className="w-full min-w-[44rem] text-left text-sm">
              <caption className="sr-only">Rounds settled on chain, newest first</caption>
              <thead className="text-xs text-muted">
                <tr className="border-b border-line/70">
                  <th scope="col" className="py-2 pr-3 font-medium">Chain round</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Experiment · round</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Model hash</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Download</th>
                  <th scope="col" className="py-2 pr-3 font-medium">Settlement tx</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-line/50">
                {rows.map((r) => (
                  <tr key={r.round_id} data-chain-round={r.round_id}>
                    <td className="tabular py-2 pr-3 font-mono">#{r.round_id}</td>
                    <td className="py-2 pr-3 text-muted">
                      {r.experiment_id !== null ? `#${r.experiment_id}` : '—'}
                      {r.round != null ? ` · ${r.round}` : ''}
                    </td>
                    <td className="py-2 pr-3">
                      <HashText value={r.model_hash} />
                    </td>
                    <td className="py-2 pr-3">
                      <div className="flex flex-wrap items-center gap-2">
                        <Match matches={r.model_matches} />
                        <a
                          href={modelUrl(r.model_hash)}
                          download
                          className="inline-flex items-center gap-1 rounded text-xs font-medium text-accent hover:underline"
                        >
                          <Download className="size-3.5" aria-hidden /> Download
                          <span className="sr-only"> the model of chain round {r.round_id} (safetensors)</span>
                        </a>
                      </div>
                    </td>
                    <td className="py-2 pr-3">
                      <HashText value={r.tx_hash} href={explorerTxHref(r.tx_hash)} label="Show transaction" />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {all.length > rows.length || showAll ? (
              <Button variant="ghost" size="sm" className="mt-2" onClick={() => setShowAll((v) => !v)} aria-expanded={showAll}>
                {showAll ? 'Show the latest 5' : `Show all ${all.length} rounds`}
              </Button>
            ) : null}
          </div>
        )}
      </CardBody>
    </Card>
  )
}
