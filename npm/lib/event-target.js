'use strict';

// The WHATWG-style EventTarget surface of ws (addEventListener & co.) on an EventEmitter.

const { kForOnEventAttribute, kListener } = require('./constants');

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

for (const [Class, props] of [
  [Event, ['target', 'type']],
  [CloseEvent, ['code', 'reason', 'wasClean']],
  [ErrorEvent, ['error', 'message']],
  [MessageEvent, ['data']]
]) {
  for (const p of props) {
    Object.defineProperty(Class.prototype, p, { enumerable: true });
  }
}

// Builds the Event object for each EventEmitter event the façade emits.
const makers = {
  message(ws, data, isBinary) {
    return new MessageEvent('message', {
      data: isBinary ? data : data.toString()
    });
  },
  close(ws, code, reason) {
    return new CloseEvent('close', {
      code,
      reason: reason.toString(),
      wasClean: ws._closeFrameReceived && ws._closeFrameSent
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

const EventTarget = {
  addEventListener(type, handler, options = {}) {
    const onAttribute = !!options[kForOnEventAttribute];
    for (const listener of this.listeners(type)) {
      if (
        !onAttribute &&
        listener[kListener] === handler &&
        !listener[kForOnEventAttribute]
      ) {
        return;
      }
    }

    const make = makers[type];
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
  },

  removeEventListener(type, handler) {
    for (const listener of this.listeners(type)) {
      if (listener[kListener] === handler && !listener[kForOnEventAttribute]) {
        this.removeListener(type, listener);
        break;
      }
    }
  }
};

module.exports = { CloseEvent, ErrorEvent, Event, EventTarget, MessageEvent };
