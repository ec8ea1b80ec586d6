'use strict';

// The WHATWG-style EventTarget surface (addEventListener & co., on<type> attributes)
// on an EventEmitter, shared by WebSocket (as ws has it) and ReconnectingWebSocket.

const { kForOnEventAttribute, kListener, kWasClean: kSocketWasClean } = require('./constants');

const kTarget = Symbol('kTarget');
const kType = Symbol('kType');
const kCode = Symbol('kCode');
const kReason = Symbol('kReason');
const kWasClean = Symbol('kWasClean');
const kError = Symbol('kError');
const kMessage = Symbol('kMessage');
const kData = Symbol('kData');

class Event {
  constructor(type) {
    this[kTarget] = null;
    this[kType] = type;
  }

  get target() {
    return this[kTarget];
  }

  get type() {
    return this[kType];
  }
}

class CloseEvent extends Event {
  constructor(type, options = {}) {
    super(type);
    this[kCode] = options.code === undefined ? 0 : options.code;
    this[kReason] = options.reason === undefined ? '' : options.reason;
    this[kWasClean] = options.wasClean === undefined ? false : options.wasClean;
  }

  get code() {
    return this[kCode];
  }

  get reason() {
    return this[kReason];
  }

  get wasClean() {
    return this[kWasClean];
  }
}

class ErrorEvent extends Event {
  constructor(type, options = {}) {
    super(type);
    this[kError] = options.error === undefined ? null : options.error;
    this[kMessage] = options.message === undefined ? '' : options.message;
  }

  get error() {
    return this[kError];
  }

  get message() {
    return this[kMessage];
  }
}

class MessageEvent extends Event {
  constructor(type, options = {}) {
    super(type);
    this[kData] = options.data === undefined ? null : options.data;
  }

  get data() {
    return this[kData];
  }
}

/** An event that carries `detail` (ReconnectingWebSocket's own events). */
class DetailEvent extends Event {
  constructor(type, detail) {
    super(type);
    this[kData] = detail === undefined ? null : detail;
  }

  get detail() {
    return this[kData];
  }
}

for (const [Class, props] of [
  [Event, ['target', 'type']],
  [CloseEvent, ['code', 'reason', 'wasClean']],
  [ErrorEvent, ['error', 'message']],
  [MessageEvent, ['data']],
  [DetailEvent, ['detail']]
]) {
  for (const p of props) {
    Object.defineProperty(Class.prototype, p, { enumerable: true });
  }
}

// Builds the Event object for each EventEmitter event WebSocket emits.
const webSocketEvents = {
  message(ws, data, isBinary) {
    return new MessageEvent('message', {
      data: isBinary ? data : data.toString()
    });
  },
  close(ws, code, reason) {
    return new CloseEvent('close', {
      code,
      reason: reason.toString(),
      wasClean: ws[kSocketWasClean]()
    });
  },
  error(ws, error) {
    return new ErrorEvent('error', { error, message: error.message });
  },
  open() {
    return new Event('open');
  }
};

function callListener(listener, thisArg, event) {
  if (typeof listener === 'object' && listener.handleEvent) {
    listener.handleEvent.call(listener, event);
  } else {
    listener.call(thisArg, event);
  }
}

/**
 * Gives `proto` addEventListener, removeEventListener and an on<type> attribute for
 * each of `attributes`. `makers[type](target, ...args)` builds the Event of an emitted
 * event; types without a maker get `fallback(type, target, ...args)`, or are ignored
 * (as ws ignores them) when there is no fallback.
 */
function defineEventTarget(proto, makers, attributes, fallback = null) {
  proto.addEventListener = function addEventListener(type, handler, options = {}) {
    const onAttribute = !!options[kForOnEventAttribute];
    for (const listener of this.listeners(type)) {
      if (!onAttribute && listener[kListener] === handler && !listener[kForOnEventAttribute]) {
        return;
      }
    }
    const make = makers[type] || (fallback && ((t, a, b) => fallback(type, t, a, b)));
    if (!make) return;

    const wrapper = function (a, b) {
      const event = make(this, a, b);
      event[kTarget] = this;
      callListener(handler, this, event);
    };
    wrapper[kForOnEventAttribute] = onAttribute;
    wrapper[kListener] = handler;

    if (options.once) this.once(type, wrapper);
    else this.on(type, wrapper);
  };

  proto.removeEventListener = function removeEventListener(type, handler) {
    for (const listener of this.listeners(type)) {
      if (listener[kListener] === handler && !listener[kForOnEventAttribute]) {
        this.removeListener(type, listener);
        break;
      }
    }
  };

  for (const type of attributes) {
    Object.defineProperty(proto, `on${type}`, {
      enumerable: true,
      get() {
        for (const listener of this.listeners(type)) {
          if (listener[kForOnEventAttribute]) return listener[kListener];
        }
        return null;
      },
      set(handler) {
        for (const listener of this.listeners(type)) {
          if (listener[kForOnEventAttribute]) {
            this.removeListener(type, listener);
            break;
          }
        }
        if (typeof handler !== 'function') return;
        this.addEventListener(type, handler, { [kForOnEventAttribute]: true });
      }
    });
  }
}

module.exports = {
  CloseEvent,
  DetailEvent,
  ErrorEvent,
  Event,
  MessageEvent,
  defineEventTarget,
  webSocketEvents
};
