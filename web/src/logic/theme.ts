import type { Theme } from "../types";

/** The theme to show: the user's `preferences.theme`, where "system" (and no preference)
 * follows the browser's prefers-color-scheme. */
export function effectiveTheme(preference: Theme | undefined, systemPrefersDark: boolean): "light" | "dark" {
  if (preference === "light" || preference === "dark") return preference;
  return systemPrefersDark ? "dark" : "light";
}
