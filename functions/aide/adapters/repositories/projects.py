from typing import ClassVar

from aide.adapters.repositories.base import Repository
from aide.domain import collections
from aide.domain.projects import Project


class ProjectRepository(Repository[Project]):
    collection_name: ClassVar[str] = collections.PROJECTS
    model = Project
