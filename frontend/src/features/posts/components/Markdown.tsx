import ReactMarkdown from 'react-markdown';

/**
 * A post's markdown, rendered safely: react-markdown builds React elements (never innerHTML),
 * raw HTML is skipped (no rehype-raw), and its default URL transform drops `javascript:` links.
 */
export function Markdown({ children }: { children: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        skipHtml
        components={{
          a: ({ href, children: text }) => (
            <a href={href} target="_blank" rel="noreferrer noopener">
              {text}
            </a>
          ),
          // Images in the text could load from anywhere: show their description; a post's
          // own images are its uploaded files.
          img: ({ alt }) => (alt ? <span className="muted">[{alt}]</span> : null),
        }}
      >
        {children}
      </ReactMarkdown>
    </div>
  );
}
