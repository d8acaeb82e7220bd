import { LogOut, PlugZap, Wallet } from 'lucide-react'
import type { BaseError } from 'viem'
import { useConnect, useConnection, useConnectors, useDisconnect } from 'wagmi'
import { shortHex } from '../../lib/numbers'
import { Button } from '../ui/button'
import { Card, CardBody, CardHeader } from '../ui/card'
import { CopyButton } from '../ui/hash-link'
import { EmptyState, InlineError } from '../ui/states'

/** Connects a browser wallet: every EIP-6963 wallet the page discovered, or the injected one. */
export function ConnectWallet() {
  const connection = useConnection()
  const connectors = useConnectors()
  const connect = useConnect()
  const disconnect = useDisconnect()
  // EIP-6963 wallets announce themselves by name; the generic "Injected" entry is only useful without them.
  const announced = connectors.filter((c) => c.id !== 'injected')
  const hasInjected = typeof window !== 'undefined' && Boolean((window as { ethereum?: unknown }).ethereum)
  const choices = announced.length ? announced : hasInjected ? connectors.filter((c) => c.id === 'injected') : []

  return (
    <Card aria-labelledby="connect-title" live={connection.isConnected}>
      <CardHeader id="connect-title" icon={<Wallet />} title="Browser wallet" />
      <CardBody className="space-y-3">
        {connection.isConnected && connection.address ? (
          <div className="flex flex-wrap items-center gap-3">
            {connection.connector?.icon && <img src={connection.connector.icon} alt="" className="size-8 rounded-lg" />}
            <div className="min-w-0 flex-1">
              <p className="text-xs text-muted">Connected with {connection.connector?.name ?? 'a wallet'}</p>
              <p className="flex items-center gap-1 font-mono text-sm break-all text-fg" data-testid="connected-address">
                {connection.address}
                <CopyButton value={connection.address} />
              </p>
            </div>
            <Button variant="ghost" size="sm" onClick={() => disconnect.mutate({})}>
              <LogOut aria-hidden /> Disconnect
            </Button>
          </div>
        ) : choices.length ? (
          <div className="flex flex-wrap gap-2">
            {choices.map((connector) => (
              <Button
                key={connector.uid}
                variant="primary"
                busy={connect.isPending && connect.variables?.connector === connector}
                disabled={connect.isPending}
                onClick={() => connect.mutate({ connector })}
              >
                {connector.icon ? <img src={connector.icon} alt="" className="size-4 rounded" /> : <PlugZap aria-hidden />}
                Connect {connector.name === 'Injected' ? 'browser wallet' : connector.name}
              </Button>
            ))}
          </div>
        ) : (
          <EmptyState title="No browser wallet found" icon={<Wallet />}>
            Install a wallet extension such as MetaMask (it announces itself to this page through EIP-6963), then reload.
          </EmptyState>
        )}
        {connect.isError && <InlineError>{(connect.error as BaseError).shortMessage ?? connect.error.message}</InlineError>}
        {connection.isConnecting || connection.isReconnecting ? (
          <p className="text-xs text-muted" role="status">
            {connection.isReconnecting ? 'Reconnecting to your wallet…' : 'Waiting for your wallet…'}
          </p>
        ) : null}
        {connection.isConnected && connection.address && (
          <p className="sr-only">Connected as {shortHex(connection.address)}</p>
        )}
      </CardBody>
    </Card>
  )
}
