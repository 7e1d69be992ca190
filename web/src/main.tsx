import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { loadConfig } from "./config";
import { initFirebase } from "./firebase";
import { App } from "./views/App";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);

loadConfig()
  .then((config) => {
    const firebase = initFirebase(config);
    root.render(
      <StrictMode>
        <App firebase={firebase} />
      </StrictMode>,
    );
  })
  .catch((error: unknown) => {
    root.render(
      <main className="boot-error" role="alert">
        <h1>AIDE cannot start</h1>
        <p>The Firebase configuration could not be loaded: {String(error)}</p>
      </main>,
    );
  });
