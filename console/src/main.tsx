// Entry point of the console bundle.
import { render } from "preact";
import { App } from "./app.js";

const root = document.getElementById("app")!;
root.replaceChildren(); // the static "Loading the console…" placeholder
render(<App />, root);
