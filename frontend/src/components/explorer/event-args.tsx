import { formatEventArg } from '../../lib/chain-format'
import { explorerWalletHref } from '../../lib/log-format'
import { HashText } from '../ui/hash-link'

/** A decoded event's arguments inline: FLT amounts, linked wallets, copyable hashes. */
export function EventArgs({ event, args }: { event: string; args: Record<string, unknown> }) {
  const entries = Object.entries(args)
  if (!entries.length) return null
  return (
    <dl className="flex flex-wrap items-center gap-x-4 gap-y-0.5 text-xs">
      {entries.map(([name, value]) => {
        const view = formatEventArg(event, name, value)
        return (
          <div key={name} className="flex min-w-0 items-center gap-1.5">
            <dt className="text-faint">{name}</dt>
            <dd className="min-w-0 break-all text-fg">
              {view.kind === 'address' ? (
                <HashText value={view.value} href={explorerWalletHref(view.value)} label="Wallet history of" />
              ) : view.kind === 'hash' ? (
                <HashText value={view.value} />
              ) : (
                <span className={view.kind === 'flt' ? 'tabular font-mono font-semibold' : 'font-mono'}>{view.text}</span>
              )}
            </dd>
          </div>
        )
      })}
    </dl>
  )
}
