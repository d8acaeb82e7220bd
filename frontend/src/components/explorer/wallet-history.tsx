import { useQuery } from '@tanstack/react-query'
import { Search, UserRound } from 'lucide-react'
import { type FormEvent, useMemo, useState } from 'react'
import { isAddress } from 'viem'
import { useConnection } from 'wagmi'
import { api } from '../../lib/api'
import { describeWalletEvent, eventTone } from '../../lib/chain-format'
import { formatFltText } from '../../lib/flt'
import { explorerTxHref } from '../../lib/log-format'
import { keys } from '../../lib/query-keys'
import { replaceParams } from '../../lib/router'
import { Badge } from '../ui/badge'
import { Button } from '../ui/button'
import { Card, CardBody, CardHeader } from '../ui/card'
import { Input } from '../ui/field'
import { HashText } from '../ui/hash-link'
import { EmptyState, ErrorState, InlineError, LoadingState } from '../ui/states'

/** One wallet's rewards, slashes and staking moves, newest first, with its standing today. */
export function WalletHistory({ address }: { address: string | null }) {
  const connection = useConnection()
  const [text, setText] = useState(address ?? '')
  const [invalid, setInvalid] = useState(false)
  const shown = address ?? connection.address ?? null
  const report = useQuery({
    queryKey: keys.wallet(shown ?? ''),
    queryFn: ({ signal }) => api.wallet(shown!, signal),
    enabled: Boolean(shown),
  })
  // Chain round ids mapped to experiment rounds, the way every other view counts rounds.
  const chainRounds = useQuery({ queryKey: keys.chainRounds, queryFn: ({ signal }) => api.chainRounds(signal), enabled: Boolean(shown) })
  const experimentRounds = useMemo(() => new Map((chainRounds.data ?? []).map((r) => [r.round_id, r])), [chainRounds.data])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const value = text.trim()
    if (!isAddress(value, { strict: false })) return setInvalid(true)
    setInvalid(false)
    replaceParams({ wallet: value, tx: null })
  }
  const history = [...(report.data?.history ?? [])].sort((a, b) => b.block_number - a.block_number || b.log_index - a.log_index)
  return (
    <Card aria-labelledby="wallet-history-title">
      <CardHeader id="wallet-history-title" icon={<UserRound />} title="Wallet history" description="Rewards and slashes, as the chain recorded them." />
      <CardBody className="space-y-4">
        <form onSubmit={submit} className="flex flex-wrap gap-2" role="search">
          <Input
            aria-label="Wallet address"
            placeholder="0x… wallet address"
            value={text}
            onChange={(e) => setText(e.target.value)}
            className="min-w-[14rem] flex-1 font-mono"
            aria-invalid={invalid || undefined}
          />
          <Button type="submit" variant="secondary">
            <Search aria-hidden /> Show
          </Button>
        </form>
        {invalid && <InlineError>That is not a 0x address of 40 hex digits.</InlineError>}
        {!shown ? (
          <EmptyState title="Choose a wallet">Enter an address, follow a wallet link from the log, or connect your wallet.</EmptyState>
        ) : report.isError ? (
          <ErrorState error={report.error} title="Could not read this wallet" onRetry={() => void report.refetch()} />
        ) : report.isPending ? (
          <LoadingState rows={4} />
        ) : (
          <>
            <div className="flex flex-wrap items-center gap-x-5 gap-y-2 text-sm" data-wallet={shown}>
              <HashText value={shown} className="font-semibold" />
              <span className="text-muted">
                balance <span className="tabular font-mono text-fg">{formatFltText(report.data.status.balance_flt)}</span>
              </span>
              <span className="text-muted">
                stake <span className="tabular font-mono text-fg">{formatFltText(report.data.status.stake_flt)}</span>
              </span>
              <span className="text-muted">
                pending <span className="tabular font-mono text-fg">{formatFltText(report.data.status.pending_flt)}</span>
              </span>
              <Badge tone={report.data.status.eligible ? 'ok' : 'warn'}>{report.data.status.eligible ? 'eligible' : 'not eligible'}</Badge>
            </div>
            {!history.length ? (
              <EmptyState title="No history on chain">This wallet has not been rewarded, slashed or staked yet.</EmptyState>
            ) : (
              <ol className="divide-y divide-line/50">
                {history.map((e) => (
                  <li key={`${e.tx_hash}-${e.log_index}`} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2 text-sm" data-event={e.name}>
                    <Badge tone={eventTone(e.name)}>{e.name}</Badge>
                    <span className="text-fg" title={e.args.roundId !== undefined ? `chain round id ${String(e.args.roundId)}` : undefined}>
                      {describeWalletEvent(e.name, e.args, experimentRounds)}
                    </span>
                    <span className="text-xs text-faint">block {e.block_number}</span>
                    <a href={explorerTxHref(e.tx_hash)} className="ml-auto font-mono text-xs text-accent hover:underline" title={e.tx_hash}>
                      <span className="sr-only">Show transaction</span> tx {e.tx_hash.slice(0, 10)}…
                    </a>
                  </li>
                ))}
              </ol>
            )}
          </>
        )}
      </CardBody>
    </Card>
  )
}
