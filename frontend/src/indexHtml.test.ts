/**
 * index.html under the backend's Content-Security-Policy (script-src 'self', no 'unsafe-inline'): a browser
 * refuses inline scripts, inline event handlers and scripts or styles from other origins, so none may be here.
 */
import { describe, expect, it } from "vitest";
import source from "../index.html?raw";

// The files the build copies to the site's root, keyed "../public/name".
const publicFiles = import.meta.glob("../public/*", { query: "?url" });
const html = new DOMParser().parseFromString(source, "text/html");

describe("index.html under a strict Content-Security-Policy", () => {
  it("has no inline <script>: every script has a src and no body", () => {
    const scripts = [...html.querySelectorAll("script")];
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) {
      expect(script.getAttribute("src"), script.outerHTML).toBeTruthy();
      expect(script.textContent?.trim(), script.outerHTML).toBe("");
    }
    // The same, without trusting a parser: any <script> tag that lacks src=.
    const tags = source.replace(/<!--[\s\S]*?-->/g, "").match(/<script\b[^>]*>/gi) ?? [];
    expect(tags.filter((tag) => !/\ssrc\s*=/i.test(tag))).toEqual([]);
  });

  it("loads scripts only from this origin, and the theme script exists in public/", () => {
    for (const script of html.querySelectorAll("script[src]")) {
      const src = script.getAttribute("src") ?? "";
      expect(src, "a same-origin path").toMatch(/^\/(?!\/)/);
      if (!src.startsWith("/src/")) expect(Object.keys(publicFiles), src).toContain(`../public${src}`);
    }
  });

  it("has no inline event handlers, javascript: URLs, inline <style> or remote stylesheets and fonts", () => {
    for (const element of html.querySelectorAll("*")) {
      for (const attribute of element.attributes) {
        expect(attribute.name, element.outerHTML).not.toMatch(/^on/i);
        expect(attribute.value.replace(/\s/g, ""), element.outerHTML).not.toMatch(/^javascript:/i);
      }
    }
    expect(html.querySelectorAll("style")).toHaveLength(0);
    for (const link of html.querySelectorAll("link[href]")) {
      expect(link.getAttribute("href"), link.outerHTML).toMatch(/^\/(?!\/)/);
    }
  });
});
