import { Link } from "react-router";
import { EmptyState } from "../components/ui";

export default function NotFound() {
  return (
    <div className="mx-auto max-w-2xl px-4 py-16">
      <EmptyState
        title="This page does not exist"
        action={
          <Link to="/" className="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500">
            Go home
          </Link>
        }
      >
        The link may be old, or the conversation was deleted.
      </EmptyState>
    </div>
  );
}
