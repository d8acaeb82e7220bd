import { Swords } from 'lucide-react'
import { Switch } from 'radix-ui'
import { ATTACKS, attackOption } from '../../lib/attack-plan'
import { cn } from '../../lib/cn'
import type { AttackPlan } from '../../lib/types'
import { Card, CardBody, CardHeader } from '../ui/card'
import { RangeField } from '../ui/range-field'

/** The attack to simulate: its kind, intensity, how many nodes attack and from which round. */
export function AttackControls({
  plan,
  onChange,
  numNodes,
  maxRound,
}: {
  plan: AttackPlan
  onChange: (plan: AttackPlan) => void
  numNodes: number
  maxRound: number
}) {
  const option = attackOption(plan.kind)
  const set = (patch: Partial<AttackPlan>) => onChange({ ...plan, ...patch })
  const knob = option?.intensity
  const intensityOff = plan.kind === 'gaussian' && plan.norm_matched
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
                      className={cn('grid size-4 place-items-center rounded-full border-2', checked ? 'border-accent' : 'border-line-strong')}
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

        {knob && (
          <RangeField
            name="intensity"
            label={`Intensity · ${knob.label}`}
            value={plan[knob.field]}
            min={knob.min}
            max={knob.max}
            step={knob.step}
            format={knob.format}
            disabled={intensityOff}
            hint={intensityOff ? 'Norm-matched noise takes its size from the honest update; σ is not used.' : undefined}
            onChange={(v) => set({ [knob.field]: v })}
          />
        )}

        {plan.kind === 'gaussian' && (
          <div className="flex items-center justify-between gap-3">
            <label htmlFor="norm-matched" className="text-sm">
              <span className="font-medium text-fg">Norm-matched</span>
              <span className="block text-xs text-muted">Rescale the noise to the honest update's norm (stealthier).</span>
            </label>
            <Switch.Root
              id="norm-matched"
              checked={plan.norm_matched}
              onCheckedChange={(checked) => set({ norm_matched: checked })}
              className="relative h-6 w-11 shrink-0 rounded-full border border-line-strong bg-surface-4 transition-colors data-[state=checked]:border-accent data-[state=checked]:bg-accent/70"
            >
              <Switch.Thumb className="block size-5 translate-x-0.5 rounded-full bg-fg shadow transition-transform data-[state=checked]:translate-x-[1.3rem]" />
            </Switch.Root>
          </div>
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
