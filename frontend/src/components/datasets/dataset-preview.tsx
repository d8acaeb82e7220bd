import type { ColumnKind, ColumnProfile, DatasetPreview as Preview } from '../../lib/types'
import { Badge } from '../ui/badge'

const KIND_TONE: Record<ColumnKind, 'info' | 'violet' | 'accent' | 'ok' | 'neutral'> = {
  numeric: 'info',
  categorical: 'violet',
  boolean: 'accent',
  label: 'ok',
  dropped: 'neutral',
}

function describe(column: ColumnProfile): string {
  if (column.kind === 'dropped') return column.reason ?? 'not used'
  if (column.kind === 'numeric') {
    const round = (v: number | null | undefined) => (v == null ? '–' : Number(v.toPrecision(4)).toString())
    return `${round(column.minimum)} to ${round(column.maximum)}, mean ${round(column.mean)}`
  }
  const shown = (column.top ?? []).slice(0, 4).map((t) => `${t.value} (${t.count})`).join(', ')
  const more = column.distinct > 4 ? `, … ${column.distinct} in all` : ''
  const unknown = column.kind === 'categorical' ? ' + unknown' : ''
  return `${shown}${more}${unknown}`
}

/** Columns with their kind, missing cells and categories; the class balance; the first rows. */
export function DatasetPreview({
  preview,
  excluded,
  onToggleExclude,
}: {
  preview: Preview
  excluded: string[]
  onToggleExclude: (column: string) => void
}) {
  const table = preview.table
  const balance = table?.class_balance ?? preview.images?.class_balance ?? []
  const total = balance.reduce((sum, c) => sum + c.count, 0) || 1
  return (
    <div className="space-y-4" data-testid="dataset-preview">
      <p className="text-sm text-fg" data-testid="preview-summary">
        {preview.num_samples} samples · {preview.input_shape.join('×')} features · {preview.num_classes} classes
        {table ? ` · ${table.rows} rows read (${table.format}${table.encoding ? `, ${table.encoding}` : ''})` : ''}
      </p>
      {table && (
        <div className="relative overflow-x-auto rounded-xl border border-line-strong/50">
          <table className="w-full text-left text-xs" aria-label="Columns">
            <thead className="bg-surface-3 text-muted">
              <tr>
                <th scope="col" className="px-3 py-2 font-medium">Column</th>
                <th scope="col" className="px-3 py-2 font-medium">Use</th>
                <th scope="col" className="px-3 py-2 font-medium">Kind</th>
                <th scope="col" className="px-3 py-2 font-medium">Missing</th>
                <th scope="col" className="px-3 py-2 font-medium">Values</th>
              </tr>
            </thead>
            <tbody>
              {table.columns.map((column) => {
                const userExcluded = excluded.includes(column.name)
                return (
                  <tr key={column.name} data-column={column.name} data-kind={column.kind} className="border-t border-line-strong/30">
                    <th scope="row" className="px-3 py-2 font-mono font-normal text-fg">{column.name}</th>
                    <td className="px-3 py-2">
                      {column.kind !== 'label' && (column.kind !== 'dropped' || userExcluded) && (
                        <label className="flex items-center gap-1.5 text-muted">
                          <input
                            type="checkbox"
                            className="size-4 accent-[var(--color-accent)]"
                            checked={!userExcluded}
                            onChange={() => onToggleExclude(column.name)}
                            aria-label={`Use column ${column.name}`}
                          />
                          use
                        </label>
                      )}
                    </td>
                    <td className="px-3 py-2">
                      <Badge tone={KIND_TONE[column.kind]}>{column.kind}</Badge>
                    </td>
                    <td className="px-3 py-2 tabular-nums" data-testid="missing">{column.missing}</td>
                    <td className="max-w-[16rem] truncate px-3 py-2 text-muted" title={describe(column)}>{describe(column)}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      {preview.images && (
        <p className="text-sm text-muted">
          {preview.images.images} images resized to {preview.images.size}×{preview.images.size} with {preview.images.channels === 1 ? 'one channel' : 'RGB'}
          {preview.images.skipped.length ? ` · skipped ${preview.images.skipped.length} other files` : ''}
        </p>
      )}
      <div>
        <h3 className="mb-1.5 text-xs font-medium text-muted">Class balance</h3>
        <ul className="space-y-1" aria-label="Class balance">
          {balance.map((c) => (
            <li key={c.value} data-class={c.value} className="flex items-center gap-2 text-xs">
              <span className="w-28 truncate font-mono text-fg" title={c.value}>{c.value}</span>
              <span className="h-2 flex-1 overflow-hidden rounded-full bg-surface-3" aria-hidden>
                <span className="block h-full rounded-full bg-accent" style={{ width: `${(100 * c.count) / total}%` }} />
              </span>
              <span className="w-20 text-right tabular-nums text-muted">{c.count} ({Math.round((100 * c.count) / total)}%)</span>
            </li>
          ))}
        </ul>
      </div>
      {table && table.sample_rows.length > 0 && (
        <div className="relative overflow-x-auto rounded-xl border border-line-strong/50">
          <table className="w-full text-left text-xs" aria-label="First rows">
            <thead className="bg-surface-3 text-muted">
              <tr>
                {table.columns.map((c) => (
                  <th key={c.name} scope="col" className="px-2 py-1.5 font-mono font-medium">{c.name}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.sample_rows.map((row, i) => (
                <tr key={i} className="border-t border-line-strong/30">
                  {table.columns.map((c) => (
                    <td key={c.name} className="px-2 py-1.5 whitespace-nowrap">
                      {row[c.name] ?? <span className="text-faint italic">empty</span>}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {table?.warnings.map((w) => (
        <p key={w} className="text-xs text-warn">{w}</p>
      ))}
    </div>
  )
}
