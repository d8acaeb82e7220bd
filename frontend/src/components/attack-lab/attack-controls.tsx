import { Swords } from 'lucide-react'
import { Switch } from 'radix-ui'
import { useId } from 'react'
import {
  ATTACKS,
  type AttackSettings,
  type ChoiceParam,
  LOG_STEPS,
  type RangeParam,
  attackOption,
  fromLogPosition,
  toLogPosition,
} from '../../lib/attack-plan'
import { cn } from '../../lib/cn'
import { Card, CardBody, CardHeader } from '../ui/card'
import { RangeField } from '../ui/range-field'

function Toggle({ id, label, hint, checked, onChange }: { id: string; label: string; hint?: string; checked: boolean; onChange: (on: boolean) => void }) {
  return (
    <div className="flex items-center justify-between gap-3">
      <label htmlFor={id} className="text-sm">
        <span className="font-medium text-fg">{label}</span>
        {hint && <span className="block text-xs text-muted">{hint}</span>}
      </label>
      <Switch.Root
        id={id}
        checked={checked}
        onCheckedChange={onChange}
        className="relative h-6 w-11 shrink-0 rounded-full border border-line-strong bg-surface-4 transition-colors data-[state=checked]:border-accent data-[state=checked]:bg-accent/70"
      >
        <Switch.Thumb className="block size-5 translate-x-0.5 rounded-full bg-fg shadow transition-transform data-[state=checked]:translate-x-[1.3rem]" />
      </Switch.Root>
    </div>
  )
}

/** One numeric parameter: a slider (log-scaled where it spans decades), with an "auto" switch where null is allowed. */
function RangeParamField({
  param,
  plan,
  set,
  limits,
  disabled,
  disabledHint,
}: {
  param: RangeParam
  plan: AttackSettings
  set: (patch: Partial<AttackSettings>) => void
  limits: { classes: number; nodes: number }
  disabled?: boolean
  disabledHint?: string
}) {
  const autoId = useId()
  const raw = plan[param.field] as number | null
  const isAuto = Boolean(param.auto) && raw === null
  const value = raw ?? param.auto?.start ?? param.min
  const max = param.maxFrom === 'classes' ? Math.max(param.min, limits.classes - 1) : param.maxFrom === 'nodes' ? Math.max(param.max, limits.nodes) : param.max
  const label = param.primary ? `Intensity · ${param.label}` : param.label
  const hint = disabled ? disabledHint : isAuto ? `Auto: ${param.auto!.meaning}.` : undefined
  return (
    <div className="space-y-3" data-param={param.field}>
      {param.log ? (
        <RangeField
          name={param.field}
          label={label}
          value={toLogPosition(value, param.min, max)}
          min={0}
          max={LOG_STEPS}
          step={1}
          format={(pos) => (isAuto ? 'auto' : param.format(fromLogPosition(pos, param.min, max)))}
          disabled={disabled || isAuto}
          hint={hint}
          onChange={(pos) => set({ [param.field]: fromLogPosition(pos, param.min, max) })}
        />
      ) : (
        <RangeField
          name={param.field}
          label={label}
          value={Math.min(value, max)}
          min={param.min}
          max={max}
          step={param.step}
          format={(v) => (isAuto ? 'auto' : param.format(v))}
          disabled={disabled || isAuto}
          hint={hint}
          onChange={(v) => set({ [param.field]: v })}
        />
      )}
      {param.auto && (
        <Toggle
          id={autoId}
          label={param.auto.label}
          checked={isAuto}
          onChange={(on) => set({ [param.field]: on ? null : param.auto!.start })}
        />
      )}
    </div>
  )
}

function ChoiceParamField({ param, plan, set }: { param: ChoiceParam; plan: AttackSettings; set: (patch: Partial<AttackSettings>) => void }) {
  const name = useId()
  const current = plan[param.field]
  const chosen = param.options.find((o) => o.value === current)
  return (
    <fieldset data-param={param.field}>
      <legend className="mb-2 text-sm font-medium text-fg">{param.label}</legend>
      <div className="inline-flex rounded-lg border border-line-strong/60 p-0.5">
        {param.options.map((o) => (
          <label
            key={o.value}
            className={cn(
              'cursor-pointer rounded-md px-3 py-1.5 text-sm font-medium transition-colors has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-accent',
              current === o.value ? 'bg-accent/15 text-fg' : 'text-muted hover:text-fg',
            )}
          >
            <input type="radio" name={name} value={o.value} checked={current === o.value} onChange={() => set({ [param.field]: o.value })} className="sr-only" />
            {o.label}
          </label>
        ))}
      </div>
      {chosen && <p className="mt-1.5 text-xs text-faint">p = {chosen.hint}.</p>}
    </fieldset>
  )
}

/** The attack to simulate: its kind, intensity, how many nodes attack and from which round. */
export function AttackControls({
  plan,
  onChange,
  numNodes,
  maxRound,
  numClasses,
}: {
  plan: AttackSettings
  onChange: (plan: AttackSettings) => void
  numNodes: number
  maxRound: number
  /** The dataset's number of classes, for the backdoor's target label. */
  numClasses?: number
}) {
  const option = attackOption(plan.kind)
  const set = (patch: Partial<AttackSettings>) => onChange({ ...plan, ...patch })
  const normMatched = plan.kind === 'gaussian' && plan.norm_matched
  const limits = { classes: numClasses ?? 10, nodes: numNodes }
  return (
    <Card aria-labelledby="attack-title">
      <CardHeader id="attack-title" icon={<Swords />} title="Attack" description="What the attacking nodes send instead of honest work." />
      <CardBody className="space-y-6">
        <fieldset>
          <legend className="mb-2 text-sm font-medium text-fg">Kind</legend>
          <div className="grid gap-2 sm:grid-cols-3 lg:grid-cols-1 xl:grid-cols-3">
            {ATTACKS.map((a) => {
              const checked = plan.kind === a.kind
              return (
                <label
                  key={a.kind}
                  className={cn(
                    'relative flex cursor-pointer flex-col gap-1 rounded-xl border p-3 transition-colors has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-offset-2 has-[:focus-visible]:outline-accent',
                    checked ? 'border-accent/60 bg-accent/10 glow-live' : 'border-line-strong/50 hover:bg-surface-3',
                  )}
                >
                  <input
                    type="radio"
                    name="attack-kind"
                    value={a.kind}
                    checked={checked}
                    onChange={() => set({ kind: a.kind })}
                    className="sr-only"
                  />
                  <span className="flex items-center justify-between gap-2 text-sm font-semibold text-fg">
                    {a.name}
                    <span
                      className={cn('grid size-4 shrink-0 place-items-center rounded-full border-2', checked ? 'border-accent' : 'border-line-strong')}
                      aria-hidden
                    >
                      {checked && <span className="size-2 rounded-full bg-accent" />}
                    </span>
                  </span>
                  <span className="text-xs text-muted">{a.summary}</span>
                </label>
              )
            })}
          </div>
        </fieldset>

        {option?.source && (
          <p className="-mt-3 text-xs text-faint">
            {option.name}: {option.source}.
          </p>
        )}

        {option?.params.map((param) =>
          param.type === 'range' ? (
            <RangeParamField
              key={param.field}
              param={param}
              plan={plan}
              set={set}
              limits={limits}
              disabled={param.field === 'sigma' && normMatched}
              disabledHint="Norm-matched noise takes its size from the honest update; σ is not used."
            />
          ) : (
            <ChoiceParamField key={param.field} param={param} plan={plan} set={set} />
          ),
        )}

        {plan.kind === 'gaussian' && (
          <Toggle
            id="norm-matched"
            label="Norm-matched"
            hint="Rescale the noise to the honest update's norm (stealthier)."
            checked={plan.norm_matched}
            onChange={(checked) => set({ norm_matched: checked })}
          />
        )}

        {plan.kind === 'free_rider' && (
          <p className="text-xs text-muted">No parameters: the node skips training. It must never earn FLT.</p>
        )}

        <div className="grid gap-6 sm:grid-cols-2 lg:grid-cols-1 xl:grid-cols-2">
          <RangeField
            name="num-attackers"
            label="Attacking nodes"
            value={plan.num_attackers}
            min={0}
            max={numNodes}
            step={1}
            format={(v) => `${v} of ${numNodes}`}
            onChange={(v) => set({ num_attackers: v })}
          />
          <RangeField
            name="start-round"
            label="From round"
            value={Math.min(plan.start_round, maxRound)}
            min={1}
            max={maxRound}
            step={1}
            format={(v) => `round ${v}`}
            onChange={(v) => set({ start_round: v })}
          />
        </div>
      </CardBody>
    </Card>
  )
}
