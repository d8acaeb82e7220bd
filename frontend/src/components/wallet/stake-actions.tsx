import { ArrowDownToLine, ArrowUpFromLine, HandCoins } from 'lucide-react'
import { type FormEvent, useState } from 'react'
import type { Address } from 'viem'
import { useConfig } from 'wagmi'
import { readContract, simulateContract, writeContract } from 'wagmi/actions'
import { stakingWithTokenErrorsAbi } from '../../contracts'
import { useDeployment } from '../../lib/deployment'
import { formatFlt, parseFltInput } from '../../lib/flt'
import { useNow } from '../../lib/hooks'
import { formatDuration } from '../../lib/numbers'
import { type TxStep, useTxFlow } from '../../lib/use-tx-flow'
import type { WalletChainState } from '../../lib/use-wallet-state'
import { Button } from '../ui/button'
import { Card, CardBody, CardHeader } from '../ui/card'
import { Field, Input } from '../ui/field'
import { TxStatus } from './tx-status'

function AmountForm({
  label,
  action,
  max,
  busy,
  onSubmit,
  testId,
}: {
  label: string
  action: string
  max: bigint
  busy: boolean
  onSubmit: (wei: bigint) => void
  testId: string
}) {
  const [text, setText] = useState('')
  const [error, setError] = useState<string | null>(null)
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const parsed = parseFltInput(text)
    if ('error' in parsed) return setError(parsed.error)
    setError(null)
    onSubmit(parsed.wei)
  }
  return (
    <form onSubmit={submit} className="flex flex-wrap items-start gap-2" noValidate data-testid={testId}>
      <Field label={label} hint={`available ${formatFlt(max)}`} error={error} className="min-w-[10rem] flex-1">
        {(props) => (
          <div className="flex gap-2">
            <Input {...props} inputMode="decimal" placeholder="0.0" value={text} onChange={(e) => setText(e.target.value)} autoComplete="off" />
            <Button size="md" variant="ghost" onClick={() => setText(formatFlt(max, { unit: false, maxDecimals: 18 }).replace(/,/g, ''))}>
              Max
            </Button>
          </div>
        )}
      </Field>
      <Button type="submit" variant="primary" busy={busy} className="mt-6">
        {action}
      </Button>
    </form>
  )
}

/** Approve then stake: the approval is skipped when the allowance already covers the amount. */
export function StakeForm({ address, state }: { address: Address; state: WalletChainState }) {
  const config = useConfig()
  const { contracts, chain } = useDeployment()
  const flow = useTxFlow()
  if (!contracts) return null
  const stake = (wei: bigint) => {
    const steps: TxStep[] = [
      {
        key: 'approve',
        label: `Approve ${formatFlt(wei)} for staking`,
        skip: async () =>
          (await readContract(config, { ...contracts.token, functionName: 'allowance', args: [address, contracts.staking.address] })) >= wei,
        send: async () => {
          const { request } = await simulateContract(config, {
            ...contracts.token,
            functionName: 'approve',
            args: [contracts.staking.address, wei],
            account: address,
            chainId: chain.id,
          })
          return writeContract(config, request)
        },
      },
      {
        key: 'stake',
        label: `Stake ${formatFlt(wei)}`,
        send: async () => {
          const { request } = await simulateContract(config, {
            address: contracts.staking.address,
            abi: stakingWithTokenErrorsAbi,
            functionName: 'stake',
            args: [wei],
            account: address,
            chainId: chain.id,
          })
          return writeContract(config, request)
        },
      },
    ]
    void flow.run(steps)
  }
  return (
    <section aria-labelledby="stake-title" className="space-y-3">
      <h3 id="stake-title" className="flex items-center gap-2 text-sm font-semibold">
        <ArrowDownToLine className="size-4 text-accent" aria-hidden /> Stake
      </h3>
      <AmountForm testId="stake-form" label="Amount to stake (FLT)" action="Stake" max={state.balance} busy={flow.busy} onSubmit={stake} />
      <TxStatus steps={flow.steps} />
    </section>
  )
}

export function UnstakeForm({ address, state }: { address: Address; state: WalletChainState }) {
  const config = useConfig()
  const { contracts, chain } = useDeployment()
  const flow = useTxFlow()
  if (!contracts) return null
  const unstake = (wei: bigint) =>
    void flow.run([
      {
        key: 'unstake',
        label: `Request unstake of ${formatFlt(wei)}`,
        send: async () => {
          const { request } = await simulateContract(config, {
            ...contracts.staking,
            functionName: 'requestUnstake',
            args: [wei],
            account: address,
            chainId: chain.id,
          })
          return writeContract(config, request)
        },
      },
    ])
  return (
    <section aria-labelledby="unstake-title" className="space-y-3">
      <h3 id="unstake-title" className="flex items-center gap-2 text-sm font-semibold">
        <ArrowUpFromLine className="size-4 text-accent" aria-hidden /> Request unstake
      </h3>
      <p className="text-xs text-muted">
        Moves stake to a pending bucket for {formatDuration(state.cooldown * 1000)}; it can still be slashed until withdrawn.
      </p>
      <AmountForm testId="unstake-form" label="Amount to unstake (FLT)" action="Request unstake" max={state.stake} busy={flow.busy} onSubmit={unstake} />
      <TxStatus steps={flow.steps} />
    </section>
  )
}

export function WithdrawButton({ address, state }: { address: Address; state: WalletChainState }) {
  const config = useConfig()
  const { contracts, chain } = useDeployment()
  const flow = useTxFlow()
  const now = useNow(1000) / 1000
  if (!contracts) return null
  const locked = state.pending > 0n && state.unlockAt > now
  const withdraw = () =>
    void flow.run([
      {
        key: 'withdraw',
        label: `Withdraw ${formatFlt(state.pending)}`,
        send: async () => {
          const { request } = await simulateContract(config, {
            ...contracts.staking,
            functionName: 'withdraw',
            account: address,
            chainId: chain.id,
          })
          return writeContract(config, request)
        },
      },
    ])
  return (
    <section aria-labelledby="withdraw-title" className="space-y-3">
      <h3 id="withdraw-title" className="flex items-center gap-2 text-sm font-semibold">
        <HandCoins className="size-4 text-accent" aria-hidden /> Withdraw
      </h3>
      <p className="text-xs text-muted">
        {state.pending === 0n
          ? 'Nothing pending: request an unstake first.'
          : locked
            ? `${formatFlt(state.pending)} unlocks in ${formatDuration((state.unlockAt - now) * 1000)}.`
            : `${formatFlt(state.pending)} ready to withdraw.`}
      </p>
      {/* Left enabled while locked: trying shows the contract's own CooldownActive answer, decoded. */}
      <Button variant={locked || state.pending === 0n ? 'secondary' : 'success'} busy={flow.busy} onClick={withdraw}>
        Withdraw
      </Button>
      <TxStatus steps={flow.steps} />
    </section>
  )
}

export function StakeActions({ address, state }: { address: Address; state: WalletChainState }) {
  return (
    <Card aria-labelledby="staking-title">
      <CardHeader id="staking-title" icon={<HandCoins />} title="Staking" description="Each transaction goes through your wallet; its status shows here." />
      <CardBody className="grid gap-6 lg:grid-cols-3">
        <StakeForm address={address} state={state} />
        <UnstakeForm address={address} state={state} />
        <WithdrawButton address={address} state={state} />
      </CardBody>
    </Card>
  )
}
