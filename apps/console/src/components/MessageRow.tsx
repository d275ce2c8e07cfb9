/** A table row that says why the table is empty ("Loading accounts…", "No positions."), across all columns. */
export function MessageRow({ columns, text, when }: { columns: number; text: string; when: boolean }) {
  if (!when) return null;
  return (
    <tr>
      <td colSpan={columns} className="muted">
        {text}
      </td>
    </tr>
  );
}
