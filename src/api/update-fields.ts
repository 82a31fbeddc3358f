import { z } from 'zod';

type WithoutDefault<Field> = Field extends z.ZodDefault<infer Inner> ? Inner : Field;
type UpdateShape<Shape extends z.ZodRawShape> = { [Key in keyof Shape]: z.ZodOptional<WithoutDefault<Shape[Key]>> };

/**
 * The fields of a partial update (PATCH) from those of a create: each one optional, without its default.
 *
 * Zod's `.partial()` keeps a field's `.default()`, so a field the caller left out of an update would be
 * written with its default over the stored value: renaming a disabled widget switched it back on, and
 * renaming an agent cleared the knowledge categories its public widget may search. Here a field left out
 * stays out of the parsed input, and so out of the update.
 */
export function updateFieldsOf<Shape extends z.ZodRawShape>(fields: z.ZodObject<Shape>): z.ZodObject<UpdateShape<Shape>> {
  const shape = Object.fromEntries(
    Object.entries(fields.shape).map(([key, field]) => {
      const required = (field instanceof z.ZodDefault ? field.unwrap() : field) as z.ZodType;
      return [key, required.optional()];
    }),
  );
  return z.object(shape) as unknown as z.ZodObject<UpdateShape<Shape>>;
}
