// The specs' page.evaluate / waitForFunction callbacks run in the browser: give them the DOM's types.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
