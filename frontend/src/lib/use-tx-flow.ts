/**
 * Runs wallet transactions in order (approve, then stake), each through: awaiting signature → pending (hash)
 * → confirmed (block) or failed (decoded custom error). A failed step stops the ones after it.
 */
import { useQueryClient } from '@tanstack/react-query'
import { useCallback, useRef, useState } from 'react'
import type { Hash } from 'viem'
import { useConfig } from 'wagmi'
import { waitForTransactionReceipt } from 'wagmi/actions'
import { describeTxError, type TxErrorText } from './tx-error'

export type StepStatus = 'waiting' | 'signing' | 'pending' | 'confirmed' | 'failed' | 'skipped'

export interface TxStepState {
  key: string
  label: string
  status: StepStatus
  hash?: Hash
  blockNumber?: bigint
  error?: TxErrorText
}

export interface TxStep {
  key: string
  label: string
  /** Resolve true to skip (an allowance that already covers the stake). */
  skip?: () => Promise<boolean>
  /** Simulates (so a revert is decoded before the wallet opens) and sends; resolves to the hash. */
  send: () => Promise<Hash>
}

export function useTxFlow() {
  const config = useConfig()
  const queryClient = useQueryClient()
  const [steps, setSteps] = useState<TxStepState[]>([])
  const [busy, setBusy] = useState(false)
  const running = useRef(false)

  const run = useCallback(
    async (list: TxStep[]): Promise<boolean> => {
      if (running.current) return false
      running.current = true
      setBusy(true)
      setSteps(list.map((s) => ({ key: s.key, label: s.label, status: 'waiting' })))
      const patch = (key: string, update: Partial<TxStepState>) =>
        setSteps((current) => current.map((s) => (s.key === key ? { ...s, ...update } : s)))
      let ok = true
      try {
        for (const step of list) {
          try {
            if (step.skip && (await step.skip())) {
              patch(step.key, { status: 'skipped' })
              continue
            }
            patch(step.key, { status: 'signing' })
            const hash = await step.send()
            patch(step.key, { status: 'pending', hash })
            const receipt = await waitForTransactionReceipt(config, { hash })
            if (receipt.status === 'reverted') {
              patch(step.key, {
                status: 'failed',
                blockNumber: receipt.blockNumber,
                error: { message: 'The transaction was mined but reverted.', short: `reverted in block ${receipt.blockNumber}`, errorName: null },
              })
              ok = false
              break
            }
            patch(step.key, { status: 'confirmed', blockNumber: receipt.blockNumber })
          } catch (error) {
            patch(step.key, { status: 'failed', error: describeTxError(error) })
            ok = false
            break
          }
        }
      } finally {
        running.current = false
        setBusy(false)
        void queryClient.invalidateQueries({
          predicate: (q) => ['readContract', 'readContracts', 'wallet', 'nodes'].includes(String(q.queryKey[0])),
        })
      }
      return ok
    },
    [config, queryClient],
  )

  const reset = useCallback(() => setSteps([]), [])
  return { steps, busy, run, reset }
}
