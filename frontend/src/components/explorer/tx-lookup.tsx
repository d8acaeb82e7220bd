import { type Abi, decodeEventLog } from 'viem'
import { useTransactionReceipt } from 'wagmi'
import { eventTone } from '../../lib/chain-format'
import { useDeployment } from '../../lib/deployment'
import { Badge } from '../ui/badge'
import { HashText } from '../ui/hash-link'
import { ErrorState, LoadingState } from '../ui/states'
import { EventArgs } from './event-args'

/** A linked transaction the orchestrator did not send (a stake, an unstake): read and decoded from the chain. */
export function TxLookup({ hash }: { hash: `0x${string}` }) {
  const { contracts } = useDeployment()
  const receipt = useTransactionReceipt({ hash, query: { enabled: Boolean(contracts) } })
  if (!contracts) return null
  if (receipt.isPending) return <LoadingState rows={2} label="Reading the transaction from the chain…" />
  if (receipt.isError) return <ErrorState error={receipt.error} title={`Transaction ${hash.slice(0, 10)}… not found on this chain`} />
  const known = [
    { address: contracts.token.address.toLowerCase(), abi: contracts.token.abi as Abi, name: 'FLToken' },
    { address: contracts.staking.address.toLowerCase(), abi: contracts.staking.abi as Abi, name: 'FedShieldStaking' },
  ]
  const events = receipt.data.logs.flatMap((log) => {
    const contract = known.find((k) => k.address === log.address.toLowerCase())
    if (!contract) return []
    try {
      const decoded = decodeEventLog({ abi: contract.abi, data: log.data, topics: log.topics })
      return [{ name: decoded.eventName ?? 'event', contract: contract.name, args: (decoded.args ?? {}) as Record<string, unknown>, logIndex: log.logIndex }]
    } catch {
      return []
    }
  })
  return (
    <div className="glow-live rounded-xl border border-accent/60 bg-accent/5 p-4" data-tx={hash} data-highlighted>
      <div className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm">
        <HashText value={hash} className="font-semibold" />
        <Badge tone={receipt.data.status === 'success' ? 'ok' : 'bad'}>{receipt.data.status}</Badge>
        <span className="text-muted">block <span className="tabular font-mono text-fg">{receipt.data.blockNumber.toString()}</span></span>
        <span className="text-xs text-faint">read from the chain (not a settlement)</span>
      </div>
      <ol className="mt-3 space-y-1.5">
        {events.map((e) => (
          <li key={e.logIndex} className="flex flex-wrap items-center gap-x-3 gap-y-1 rounded-lg bg-surface/60 px-3 py-2" data-event={e.name}>
            <Badge tone={eventTone(e.name)}>{e.name}</Badge>
            <EventArgs event={e.name} args={e.args} />
            <span className="ml-auto text-[11px] text-faint">
              {e.contract} · log {e.logIndex}
            </span>
          </li>
        ))}
      </ol>
    </div>
  )
}
