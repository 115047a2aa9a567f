import { Component, type ErrorInfo, type ReactNode } from 'react';
import { Trans } from 'react-i18next';

interface State {
  error: Error | null;
}

/** Catches a render error so a broken page shows a message, never a blank screen. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.warn('render error', error, info.componentStack);
  }

  componentDidUpdate(prev: { resetKey?: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  render() {
    if (this.state.error) {
      return (
        <div className="error-box" role="alert">
          <div>
            <p className="error-box__text">
              <Trans i18nKey="crash.title" ns="common" />
            </p>
            <p className="muted">
              <Trans i18nKey="crash.body" ns="common" />
            </p>
            <p className="muted small">{this.state.error.message}</p>
            <button type="button" className="btn btn--small" onClick={() => this.setState({ error: null })}>
              <Trans i18nKey="actions.retry" ns="common" />
            </button>
          </div>
        </div>
      );
    }
    return this.props.children;
  }
}
