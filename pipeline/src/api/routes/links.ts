// OpenAPI links from a route that creates a resource to the routes that take its id, so clients and
// schemathesis's stateful phase can follow a creation to its GET, PATCH and DELETE.

const escape = (path: string) => path.replace(/~/g, "~0").replace(/\//g, "~1");

/** `links` for the 201 of `POST path`: the id is the body's `idField`, the other routes are `path/{id}`. */
export function createdLinks(path: string, idField: string, methods: ("get" | "patch" | "delete")[]) {
  const target = escape(`${path}/{id}`);
  return {
    201: Object.fromEntries(
      methods.map((m) => [
        `${m[0]!.toUpperCase()}${m.slice(1)}Created`,
        { operationRef: `#/paths/${target}/${m}`, parameters: { id: `$response.body#/${idField}` } },
      ]),
    ),
  };
}
