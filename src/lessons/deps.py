"""How a stage gets its parts: model backends, training, the embedder, a locator, a
cluster namer and a practice teacher. Real ones by default; a test swaps in fakes.

Every stage entry point takes one `Deps` (`lessons.diagnose.diagnose`,
`lessons.builders.build`, `lessons.loop.run_loop`), so a part is assembled the same way
whichever entry point asks for it. `cli/` fills a `Deps` from its flags; tests either give
factories (`Deps(backend=..., embedder=WordHashEmbedder)`) or register a test model name
(`lessons.models.models`) and a test embedder name (`lessons.diagnose.taxonomy.embedders`),
as simonw/llm's tests register their mock model.

Heavy parts are imported only when made: naming `arith` never loads a model stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from lessons.models import ModelOptions

if TYPE_CHECKING:
    from lessons.diagnose.base import Locator
    from lessons.diagnose.taxonomy import Embedder, Namer
    from lessons.models.base import Backend
    from lessons.records import RunRecord
    from lessons.store import Store

DEFAULT_EMBEDDER = "minilm"
NAMING_METHODS = ("critic", "consensus")  # locators whose model also names the new clusters


@dataclass(frozen=True)
class Deps:
    """Factories for a stage's parts; the methods assemble them."""

    # (model name, store, options) -> backend; None: `resolve_model`, which also knows the
    # log's trained versions and the names in `lessons.models.models`
    backend: Callable[[str, Store, ModelOptions], Backend] | None = None
    train: Callable[..., Any] | None = None  # `lessons.train.train`'s signature; None: that function
    embedder: Callable[[], Embedder] | str = DEFAULT_EMBEDDER  # a factory, or a name in `embedders`
    model_options: ModelOptions = ModelOptions()  # endpoint and batch size for every backend made

    def make_backend(self, name: str, store: Store) -> Backend:
        if self.backend is not None:
            return self.backend(name, store, self.model_options)
        from lessons.models import resolve_model

        return resolve_model(name, self.model_options, store.registered_models())

    def make_embedder(self) -> Embedder:
        if callable(self.embedder):
            return self.embedder()
        from lessons.diagnose.taxonomy import embedders

        return embedders.get(self.embedder)()

    def run_train(self, *args: Any, **kwargs: Any) -> Any:
        if self.train is not None:
            return self.train(*args, **kwargs)
        from lessons.train import train

        return train(*args, **kwargs)

    def make_locator(self, method: str, run: RunRecord, backend: Backend | None, rollouts: int = 4) -> Locator:
        """Locator `method` set to judge `run`'s mistakes as the run judged its attempts
        (its template and verifier: `run_locator_options`)."""
        from lessons.diagnose.locators import make_locator, run_locator_options

        return make_locator(method, backend, **run_locator_options(method, run.components, rollouts))

    def make_namer(self, method: str, backend: Backend | None) -> Namer | None:
        """A model that judges steps (critic, consensus) also names new clusters; other
        methods leave names to the clusters' c-TF-IDF terms."""
        if backend is None or method not in NAMING_METHODS:
            return None
        from lessons.diagnose.naming import llm_namer

        return llm_namer(backend)

    def make_teacher(self, options: Mapping[str, Any], store: Store) -> Backend | None:
        """The backend of the model a practice builder's options name as `teacher`; None
        when they name none (an empty name is none, as the builder's config reads it)."""
        name = options.get("teacher")
        return self.make_backend(str(name), store) if name else None

    def builder_resources(self, kind: str, options: Mapping[str, Any], store: Store) -> dict[str, Any]:
        """What builder `kind` takes besides its config (`resources`), made only when it
        takes it: an embedder, a teacher backend."""
        from lessons.builders.base import builders

        wanted = getattr(builders.get(kind), "resources", ())
        made: dict[str, Any] = {}
        if "embedder" in wanted:
            made["embedder"] = self.make_embedder()
        if "teacher" in wanted:
            made["teacher"] = self.make_teacher(options, store)
        return made
