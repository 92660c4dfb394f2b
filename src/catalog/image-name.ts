/**
 * What the catalog takes for an image's name: the name of a folder it walks into, so one path
 * component that is not hidden (no `/`, not `.` or `..`, not starting with `.`). A name read back
 * from a summary becomes a file name (`logs/<name>.log`): this keeps it inside its folder.
 */
export function isImageName(name: string): boolean {
  return name !== '' && !name.startsWith('.') && !name.includes('/') && !name.includes('\0');
}
