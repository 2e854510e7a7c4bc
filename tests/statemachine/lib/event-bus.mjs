// The local EventBridge bus for EMR's events: the emulator emits them (EventBridge envelopes, source aws.emr), the
// harness takes the deliverable ones after every move of the virtual clock and hands each to the targets of the
// template's rules whose EventPattern matches, as Lambda's asynchronous invocation does: a function error is retried
// up to the function's EventInvokeConfig.MaximumRetryAttempts (2 unless the template says otherwise), then the event
// is dropped (on AWS: to the function's dead-letter queue, if any). Every delivery is recorded. Lambda spaces its
// retries by a minute or two; here they follow at once and cost no virtual time (like the harness's Retry pauses).
//
// Pattern matching follows EventBridge's content filtering for what rules on EMR events use: a pattern is an object
// whose keys are matched against the event's fields of the same name; a nested object matches a nested object; an
// array lists the allowed values, where each entry is a literal (string, number, boolean, null) or one of the
// filters {prefix}, {suffix}, {"equals-ignore-case"}, {"anything-but": literal | [literals] | {prefix} | {suffix}},
// {exists: boolean}, {numeric: [op, n, op, n]}. An event field that is an array matches when any of its elements
// does. Every key of the pattern must match (AND); the entries of an array are alternatives (OR).

/** True if `pattern` (an EventBridge EventPattern, parsed) matches `event`. */
export function matches(pattern, event) {
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern)) {
    throw new Error(`an event pattern is an object of fields, not ${JSON.stringify(pattern)}`);
  }
  return Object.entries(pattern).every(([key, expected]) => matchField(expected, event, key));
}

function matchField(expected, container, key) {
  const present = container !== null && typeof container === 'object' && !Array.isArray(container) && Object.hasOwn(container, key);
  const value = present ? container[key] : undefined;
  if (Array.isArray(expected)) {
    return expected.some((entry) => matchEntry(entry, present, value));
  }
  if (expected !== null && typeof expected === 'object') {
    if (!present || value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    return matches(expected, value);
  }
  throw new Error(`pattern field "${key}": ${JSON.stringify(expected)} is neither an array of values nor an object`);
}

/** One entry of an array of allowed values, against a field that is `present` with `value`. */
function matchEntry(entry, present, value) {
  if (entry !== null && typeof entry === 'object' && 'exists' in entry) {
    // exists applies to leaves: an object is not a value that exists here.
    const leaf = present && (value === null || typeof value !== 'object' || Array.isArray(value));
    return entry.exists ? leaf : !present;
  }
  if (!present) return false;
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => matchValue(entry, v));
}

function matchValue(entry, v) {
  if (entry === null || typeof entry !== 'object') return entry === v;
  const [filter, ...rest] = Object.keys(entry);
  if (rest.length > 0) throw new Error(`a filter has one key: ${JSON.stringify(entry)}`);
  const arg = entry[filter];
  switch (filter) {
    case 'prefix':
      return typeof v === 'string' && v.startsWith(stringArg(filter, arg));
    case 'suffix':
      return typeof v === 'string' && v.endsWith(stringArg(filter, arg));
    case 'equals-ignore-case':
      return typeof v === 'string' && v.toLowerCase() === stringArg(filter, arg).toLowerCase();
    case 'anything-but': {
      if (arg !== null && typeof arg === 'object' && !Array.isArray(arg)) {
        if ('prefix' in arg) return typeof v === 'string' && !v.startsWith(stringArg('anything-but prefix', arg.prefix));
        if ('suffix' in arg) return typeof v === 'string' && !v.endsWith(stringArg('anything-but suffix', arg.suffix));
        throw new Error(`anything-but takes a value, a list of values, {prefix} or {suffix}: ${JSON.stringify(arg)}`);
      }
      const excluded = Array.isArray(arg) ? arg : [arg];
      return !excluded.includes(v);
    }
    case 'numeric': {
      if (typeof v !== 'number') return false;
      if (!Array.isArray(arg) || arg.length % 2 !== 0 || arg.length === 0) throw new Error(`numeric takes [op, n, ...]: ${JSON.stringify(arg)}`);
      for (let i = 0; i < arg.length; i += 2) {
        const [op, n] = [arg[i], arg[i + 1]];
        const ok = { '=': v === n, '<': v < n, '<=': v <= n, '>': v > n, '>=': v >= n }[op];
        if (ok === undefined) throw new Error(`numeric: unknown operator ${JSON.stringify(op)}`);
        if (!ok) return false;
      }
      return true;
    }
    default:
      throw new Error(`event pattern filter "${filter}" is not simulated`);
  }
}

function stringArg(filter, arg) {
  if (typeof arg !== 'string') throw new Error(`${filter} takes a string, not ${JSON.stringify(arg)}`);
  return arg;
}

/**
 * The logical ids of the template's resources of `type` (e.g. AWS::Events::Rule), read from its text: resources are
 * indented two spaces and their Type four, as infra/template.yaml writes them.
 */
export function resourcesOfType(templateText, type) {
  const ids = [];
  let current;
  for (const line of templateText.split('\n')) {
    const id = /^ {2}([A-Za-z0-9]+):\s*$/.exec(line);
    if (id) current = id[1];
    else if (current && line.trim() === `Type: ${type}` && /^ {4}\S/.test(line)) ids.push(current);
  }
  return ids;
}

/** True if the template declares a resource with this logical id. */
export function declares(templateText, logicalId) {
  return new RegExp(`^ {2}${logicalId}:\\s*$`, 'm').test(templateText);
}

export class EventBus {
  /**
   * @param {{rules: {rule: string, pattern: object, fn: string, maxRetries: number, notRunning?: boolean}[],
   *          invoke: (fn: string, event: object) => Promise<unknown>,
   *          now: () => number, onDelivery?: (delivery: object) => void, region?: string}} options
   *   rules: one entry per (rule, Lambda target): the target function's name and how many times Lambda retries a
   *   failed asynchronous invocation of it (notRunning: the environment runs without it); invoke: runs the function (rejects with its error);
   *   now: virtual epoch seconds (recorded with each delivery); onDelivery: each delivery as it ends; region: the
   *   bus's region: rules are regional, so an event of a resource in another region (its `region`) never reaches
   *   them (it goes to that region's default bus, where the stack has no rule) and is kept in `otherRegion`.
   */
  constructor({ rules, invoke, now, onDelivery, region }) {
    this.region = region;
    /** Events emitted in another region: no rule of this bus sees them. */
    this.otherRegion = [];
    this.rules = rules;
    this.invoke = invoke;
    this.now = now;
    this.onDelivery = onDelivery;
    /** Every delivery: {seq, deliverAt, at, event, rule, fn, attempts, output | error, dropped?, notRunning?}. */
    this.deliveries = [];
    /** Events no rule matched. */
    this.unmatched = [];
    this.dropped = 0;
  }

  /**
   * Delivers `items` ({seq, deliverAt, event} as the emulator hands them out) in deliverAt order (then seq), each to
   * every matching target, one after the other. Returns the deliveries made.
   */
  async deliver(items) {
    const made = [];
    const ordered = [...items].sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    for (const item of ordered) {
      if (this.region && item.event?.region !== this.region) {
        this.otherRegion.push(item);
        continue;
      }
      const targets = this.rules.filter((r) => matches(r.pattern, item.event));
      if (targets.length === 0) this.unmatched.push(item);
      for (const target of targets) {
        const delivery = { seq: item.seq, deliverAt: item.deliverAt, at: this.now(), event: item.event, rule: target.rule, fn: target.fn, attempts: 0 };
        for (;;) {
          if (target.notRunning) {
            // The environment runs without this function (its binary is not built): the event is lost.
            Object.assign(delivery, { notRunning: true, dropped: true });
            this.dropped += 1;
            break;
          }
          delivery.attempts += 1;
          try {
            delivery.output = await this.invoke(target.fn, item.event);
            delete delivery.error;
            break;
          } catch (e) {
            delivery.error = { name: e.name, message: e.message };
            if (delivery.attempts > target.maxRetries) {
              delivery.dropped = true;
              this.dropped += 1;
              break;
            }
          }
        }
        this.deliveries.push(delivery);
        made.push(delivery);
        this.onDelivery?.(delivery);
      }
    }
    return made;
  }
}
