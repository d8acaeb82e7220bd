import { Check, Copy } from 'lucide-react'
import { useState } from 'react'
import { cn } from '../../lib/cn'
import { shortHex } from '../../lib/numbers'

/** A shortened hash or address with its full value for screen readers and a copy button. */
export function HashText({ value, href, className, label }: { value: string; href?: string; className?: string; label?: string }) {
  const text = <span className="font-mono whitespace-nowrap">{shortHex(value, 8, 6)}</span>
  return (
    <span className={cn('inline-flex items-center gap-1', className)}>
      {href ? (
        <a href={href} className="rounded text-accent underline-offset-2 hover:underline" title={value}>
          <span className="sr-only">{label ?? 'Open'}</span> {text}
        </a>
      ) : (
        <span title={value}>{text}</span>
      )}
      <CopyButton value={value} />
    </span>
  )
}

export function CopyButton({ value }: { value: string }) {
  const [copied, setCopied] = useState(false)
  return (
    <button
      type="button"
      className="grid size-6 place-items-center rounded text-faint hover:bg-surface-3 hover:text-fg"
      aria-label={copied ? 'Copied' : `Copy ${value}`}
      onClick={() => {
        void navigator.clipboard?.writeText(value).then(() => {
          setCopied(true)
          setTimeout(() => setCopied(false), 1200)
        })
      }}
    >
      {copied ? <Check className="size-3.5 text-ok" aria-hidden /> : <Copy className="size-3.5" aria-hidden />}
    </button>
  )
}
