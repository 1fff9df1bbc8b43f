/** What each error code means to a user, and what they can do next. */

export interface ErrorAdvice {
  title: string;
  advice: string;
  /** A page that fixes it, where there is one. */
  link?: { to: string; label: string };
  /** Regenerating may help (transient upstream trouble). */
  retry: boolean;
  tone: "red" | "amber";
}

/** The model that failed, where the advice depends on it. */
export interface FailedModel {
  provider: string;
  owner: string;
}

export function adviceFor(code: string, detail?: string | null, retryAfter?: number | null, model?: FailedModel | null): ErrorAdvice {
  switch (code) {
    case "not_a_code_request":
      return {
        title: "That does not look like a programming task",
        advice:
          "Codesmith only writes code. Describe what the program should do, for example “a Python function that parses ISO dates and returns the weekday”.",
        retry: false,
        tone: "amber",
      };
    case "no_code_in_answer":
      return {
        title: "The answer had no code in it",
        advice: "Regenerate, or reply with feedback such as “show the complete code in one block”.",
        retry: true,
        tone: "amber",
      };
    case "missing_provider_key":
      return {
        title: "This model needs an API key",
        advice: "Add your OpenAI key in Settings, or pick a self-hosted model.",
        link: { to: "/settings", label: "Add a key" },
        retry: false,
        tone: "amber",
      };
    case "upstream_unauthorized":
      // A provided OpenAI model runs on the user's own key, which is changed in Settings, not on the Models page.
      if (model?.provider === "openai" && model.owner === "system") {
        return {
          title: "OpenAI rejected your API key",
          advice: "Replace your OpenAI key in Settings, then regenerate.",
          link: { to: "/settings", label: "Replace your key" },
          retry: false,
          tone: "red",
        };
      }
      return {
        title: "The model's server rejected the API key",
        advice: "Check or replace the key for this model, then regenerate.",
        link: { to: "/models", label: "Check models" },
        retry: false,
        tone: "red",
      };
    case "upstream_rate_limited":
      return {
        title: "The model provider is rate-limiting requests",
        advice: "Wait a moment and regenerate, or switch to another model.",
        retry: true,
        tone: "amber",
      };
    case "upstream_timeout":
      return {
        title: "The model took too long to answer",
        advice: "The server may be busy. Regenerate, or try a smaller request.",
        retry: true,
        tone: "amber",
      };
    case "upstream_error":
      return {
        title: "The model's server had a problem",
        advice: "Regenerate in a moment. If it keeps failing, check the model's status.",
        link: { to: "/models", label: "Check models" },
        retry: true,
        tone: "red",
      };
    case "model_unavailable":
      return {
        title: "This model is not available right now",
        advice: "Check its status on the Models page or pick another model.",
        link: { to: "/models", label: "Check models" },
        retry: true,
        tone: "red",
      };
    case "context_window_exceeded":
      return {
        title: "The conversation is too long for this model",
        advice: "Start a new conversation with a shorter request, or pick a model with a larger context window.",
        link: { to: "/new", label: "New conversation" },
        retry: false,
        tone: "amber",
      };
    case "prompt_too_long":
      return {
        title: "The request is too long",
        advice: detail ?? "Shorten it and send again.",
        retry: false,
        tone: "amber",
      };
    case "rate_limited": {
      const wait = retryAfter ? ` Try again in ${retryAfter < 90 ? `${retryAfter} seconds` : `${Math.ceil(retryAfter / 60)} minutes`}.` : "";
      return {
        title: "You have reached your usage limit",
        advice: `Generation is limited per minute and per day.${wait}`,
        link: { to: "/usage", label: "See usage" },
        retry: false,
        tone: "amber",
      };
    }
    case "generation_in_progress":
      return {
        title: "An answer is still being written",
        advice: "Wait for it to finish or stop it, then try again.",
        retry: false,
        tone: "amber",
      };
    case "forbidden_model_host":
      return {
        title: "That address is not allowed",
        advice: "Models must be reachable at a public address. Private and local hosts are blocked unless the server allows them.",
        retry: false,
        tone: "red",
      };
    case "network_error":
      return {
        title: "Could not reach Codesmith",
        advice: "Check your connection and try again.",
        retry: true,
        tone: "red",
      };
    case "interrupted":
      return {
        title: "The answer was interrupted",
        advice: "The server restarted while writing it. Regenerate to get a complete answer.",
        retry: true,
        tone: "amber",
      };
    default:
      return {
        title: "Something went wrong",
        advice: detail ?? "Try again in a moment.",
        retry: true,
        tone: "red",
      };
  }
}
