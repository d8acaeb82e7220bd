/**
 * The deployed contracts as `{ address, abi } as const`: addresses from the deployment the orchestrator serves
 * (GET /api/chain/deployment), typed ABIs generated from forge's output (src/abi, `npm run gen:abi`).
 */
import { type Abi, type AbiEvent, type AbiFunction, type Address, getAddress, isAddress } from 'viem'
import { fedShieldStakingAbi } from './abi/fedshield-staking'
import { flTokenAbi } from './abi/fl-token'
import type { Deployment } from './lib/types'

export { fedShieldStakingAbi, flTokenAbi }

/** The staking ABI plus the token's errors: `stake` reverts inside the token when the allowance is short. */
export const stakingWithTokenErrorsAbi = [
  ...fedShieldStakingAbi,
  ...flTokenAbi.filter((item) => item.type === 'error'),
] as const

export function contractsFor(deployment: Pick<Deployment, 'token' | 'staking'>) {
  return {
    token: { address: getAddress(deployment.token.address), abi: flTokenAbi },
    staking: { address: getAddress(deployment.staking.address), abi: fedShieldStakingAbi },
  } as const
}

export type Contracts = ReturnType<typeof contractsFor>

function signature(item: AbiFunction | AbiEvent): string {
  return `${item.type} ${item.name}(${item.inputs.map((i) => i.type).join(',')})`
}

/**
 * What the dashboard calls but the served ABI lacks (or declares with other types): shown as a warning, since
 * an address that runs other code than the dashboard was built for would decode wrong values silently.
 */
export function missingAbiItems(served: readonly unknown[], expected: Abi): string[] {
  const have = new Set(
    (served as Abi)
      .filter((i): i is AbiFunction | AbiEvent => i.type === 'function' || i.type === 'event')
      .map(signature),
  )
  return (expected as Abi)
    .filter((i): i is AbiFunction | AbiEvent => i.type === 'function' || i.type === 'event')
    .map(signature)
    .filter((s) => !have.has(s))
}

export function isDeploymentUsable(deployment: Deployment | null | undefined): deployment is Deployment {
  return Boolean(
    deployment && isAddress(deployment.token?.address ?? '') && isAddress(deployment.staking?.address ?? ''),
  )
}

export type { Address }
