import { History } from 'lucide-react'
import { useConnection } from 'wagmi'
import { ConnectWallet } from '../components/wallet/connect-wallet'
import { NetworkGuard } from '../components/wallet/network-guard'
import { StakeActions } from '../components/wallet/stake-actions'
import { WalletStatus } from '../components/wallet/wallet-status'
import { LinkButton } from '../components/ui/button'
import { EmptyState } from '../components/ui/states'
import { useDeployment } from '../lib/deployment'
import { explorerWalletHref } from '../lib/log-format'
import { useWalletState } from '../lib/use-wallet-state'

export default function WalletView() {
  const connection = useConnection()
  const { status } = useDeployment()
  const wallet = useWalletState(connection.isConnected ? connection.address : undefined)
  return (
    <div className="space-y-5">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Wallet</h1>
          <p className="mt-1 text-sm text-muted">Stake FLT to take part; honest rounds pay FLT, caught attacks cost stake.</p>
        </div>
        {connection.address && (
          <LinkButton href={explorerWalletHref(connection.address)} variant="secondary" size="sm">
            <History aria-hidden /> Rewards and slashes
          </LinkButton>
        )}
      </div>
      <ConnectWallet />
      {status !== 'ready' ? (
        <EmptyState title="No contracts to talk to">The orchestrator has no chain deployment yet, so there is nothing to stake in.</EmptyState>
      ) : connection.isConnected && connection.address ? (
        <NetworkGuard>
          <WalletStatus state={wallet.state} isPending={wallet.isPending} error={wallet.error} onRetry={() => void wallet.refetch()} />
          {wallet.state && <StakeActions address={connection.address} state={wallet.state} />}
        </NetworkGuard>
      ) : null}
    </div>
  )
}
