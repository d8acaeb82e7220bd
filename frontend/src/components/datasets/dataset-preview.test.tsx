import { render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { datasetUploads } from '../../lib/api'
import type { DatasetPreview as Preview } from '../../lib/types'
import { DatasetPreview } from './dataset-preview'
import { older } from '../../test/older'

const preview: Preview = older({
  kind: 'table',
  name: 'clinic',
  num_samples: 3,
  input_shape: [5],
  num_classes: 2,
  class_names: ['sick', 'well'],
  label_column: 'diagnosis',
  images: null,
  table: {
    file_name: 'clinic.csv',
    format: 'csv',
    encoding: 'utf-8',
    delimiter: ',',
    rows: 3,
    label_column: 'diagnosis',
    columns: [
      { name: 'age', kind: 'numeric', reason: null, missing: 1, distinct: 2, top: [], vocabulary_size: null, minimum: 20, maximum: 61, mean: 40.5 },
      { name: 'island', kind: 'categorical', reason: null, missing: 0, distinct: 2, top: [{ value: 'Dream', count: 2 }, { value: 'Biscoe', count: 1 }], vocabulary_size: 2, minimum: null, maximum: null, mean: null },
      { name: 'id', kind: 'dropped', reason: 'identifier: a distinct value on every row', missing: 0, distinct: 3, top: [], vocabulary_size: null, minimum: null, maximum: null, mean: null },
      { name: 'diagnosis', kind: 'label', reason: null, missing: 0, distinct: 2, top: [], vocabulary_size: null, minimum: null, maximum: null, mean: null },
    ],
    class_balance: [{ value: 'sick', count: 1 }, { value: 'well', count: 2 }],
    rows_without_label: 0,
    sample_rows: [{ age: null, island: 'Dream', id: 'a', diagnosis: 'well' }],
    num_features: 5,
    warnings: [],
  },
})

afterEach(() => vi.unstubAllGlobals())

describe('dataset preview', () => {
  it('shows kinds, missing counts, categories, the class balance and empty cells', async () => {
    const toggle = vi.fn()
    render(<DatasetPreview preview={preview} excluded={[]} onToggleExclude={toggle} />)
    const columns = screen.getByRole('table', { name: 'Columns' })
    const island = within(columns).getByRole('row', { name: /island/ })
    expect(island).toHaveTextContent('categorical')
    expect(island).toHaveTextContent('Dream (2), Biscoe (1) + unknown')
    expect(within(columns).getByRole('row', { name: /^age/ })).toHaveTextContent('1')
    expect(within(columns).getByRole('row', { name: /^id/ })).toHaveTextContent('identifier')
    expect(within(columns).queryByLabelText('Use column diagnosis')).toBeNull()
    expect(screen.getByRole('list', { name: 'Class balance' })).toHaveTextContent('well2 (67%)')
    expect(screen.getByRole('table', { name: 'First rows' })).toHaveTextContent('empty')
    await userEvent.click(screen.getByLabelText('Use column island'))
    expect(toggle).toHaveBeenCalledWith('island')
  })

  it('sends the choices as a multipart form, one exclude_columns field per column', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify(preview), { status: 200 }))
    vi.stubGlobal('fetch', fetch)
    const file = new File(['a,b\n1,2\n'], 'clinic.csv', { type: 'text/csv' })
    await datasetUploads.preview(file, { label_column: 'b', exclude_columns: ['x', 'y'], image_size: 32 })
    const [path, init] = fetch.mock.calls[0] as unknown as [string, RequestInit]
    const form = init.body as FormData
    expect(path).toBe('/api/dataset-previews')
    expect(form.get('label_column')).toBe('b')
    expect(form.getAll('exclude_columns')).toEqual(['x', 'y'])
    expect((form.get('file') as File).name).toBe('clinic.csv')
  })
})
