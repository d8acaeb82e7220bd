import { ChainRounds } from '../components/explorer/chain-rounds'
import { Transactions } from '../components/explorer/transactions'
import { WalletHistory } from '../components/explorer/wallet-history'
import { useSelectedExperiment } from '../lib/experiments'
import { replaceParams, useRoute } from '../lib/router'

export default function ExplorerView() {
  const { params } = useRoute()
  const { experimentId } = useSelectedExperiment()
  const tx = params.tx && /^0x[0-9a-fA-F]{64}$/.test(params.tx) ? params.tx : null
  const wallet = params.wallet ?? null
  // A linked transaction is searched among all settlements, not only the watched experiment's.
  const scope = tx || params.scope === 'all' ? null : experimentId
  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Explorer</h1>
          <p className="mt-1 text-sm text-muted">What the chain recorded: settled rounds, their transactions, and each wallet's rewards and slashes.</p>
        </div>
        {!tx && experimentId !== null && (
          <label className="flex items-center gap-2 text-sm text-muted">
            <input
              type="checkbox"
              className="size-4 accent-[var(--color-accent)]"
              checked={params.scope === 'all'}
              onChange={(e) => replaceParams({ scope: e.target.checked ? 'all' : null })}
            />
            All experiments
          </label>
        )}
      </div>
      <div className="grid items-start gap-5 xl:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
        <div className="min-w-0 space-y-5">
          <ChainRounds />
          <Transactions experimentId={scope} wallet={null} highlight={tx} />
        </div>
        <div className="min-w-0 space-y-5 xl:sticky xl:top-20">
          <WalletHistory key={wallet ?? 'none'} address={wallet} />
        </div>
      </div>
    </div>
  )
}
